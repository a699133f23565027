"""What the ``outlook`` and ``google`` command groups share: the connection commands' arguments,
opening the database, errors, health, the status block, the calendar list, and the ``sync``,
``events`` and ``changes`` commands."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, Protocol, TypeVar
from zoneinfo import ZoneInfo

from app.settings import Settings, get_settings
from calendar_backend import owner_changes
from calendar_backend.calendar_sync import SyncedEvent, SyncStatus
from calendar_backend.connections_common import ConnectionNameTaken, ConnectionNotFound
from calendar_backend.owner_changes import SyncResult
from calendar_backend.provider import CalendarUnavailable
from calendar_backend.token_store import HasTokenKey, TokenKeyMissing, TokenKeyWrong
from storage.database import Database, open_database

EXIT_FAILED = 1
LISTEN_SECONDS = 300

# What any connection command reports as ``error: ...`` (a provider adds its sign-in errors).
ERRORS: tuple[type[Exception], ...] = (
    TimeoutError, TokenKeyMissing, TokenKeyWrong, ConnectionNotFound, ConnectionNameTaken,
    CalendarUnavailable, ValueError)

ConfigT = TypeVar("ConfigT", bound=HasTokenKey)


class ShownConnection(Protocol):
    """A provider's connection, as the commands print it."""

    @property
    def ref(self) -> str: ...

    @property
    def username(self) -> str: ...

    @property
    def calendar_name(self) -> str: ...

    @property
    def status(self) -> str: ...

    @property
    def status_reason(self) -> str | None: ...

    @property
    def owner_zone(self) -> str | None: ...

    @property
    def connected_at(self) -> datetime: ...


class ListedCalendar(Protocol):
    """A provider's calendar, as ``calendars`` lists it."""

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...


CalendarT = TypeVar("CalendarT", bound=ListedCalendar)


def add_connect_command(commands: argparse._SubParsersAction,
                        account: str) -> argparse.ArgumentParser:
    """The ``connect`` command for ``account`` ("Microsoft", "Google") sign-ins."""
    return commands.add_parser(
        "connect", help=f"connect a {account} account (prints the sign-in URL)",
        description=f"Prints the {account} sign-in URL, then completes the connection when the "
        "browser comes back to the redirect URI (a local listener). On a headless server use "
        "--no-listen, sign in anywhere, and paste the URL the browser landed on with "
        "--redirect-url.")


def add_connect_arguments(connect: argparse.ArgumentParser) -> None:
    """The ``connect`` options both providers take (besides ``--name``)."""
    connect.add_argument("--login-hint", help="the account's e-mail address, pre-filled")
    connect.add_argument("--no-listen", action="store_true",
                         help="only print the URL; finish later with --redirect-url")
    connect.add_argument("--redirect-url", help="the URL the browser landed on after sign-in")
    connect.add_argument("--timeout", type=float, default=LISTEN_SECONDS,
                         help="seconds to wait for the browser (default %(default)s)")


def open_connections(config_of: Callable[[Settings], ConfigT],
                     require_token_key: Callable[[Database, ConfigT], None]
                     ) -> tuple[ConfigT, Database]:
    """The provider's config and the database, refusing stored tokens without a token key."""
    settings = get_settings()
    config = config_of(settings)
    database = open_database(settings.sqlalchemy_url())
    require_token_key(database, config)
    return config, database


def fail(message: object) -> int:
    """Print ``error: message`` on stderr; the command's exit status."""
    print(f"error: {message}", file=sys.stderr)
    return EXIT_FAILED


def show_sign_in_url(url: str, *, whose: str, command: str, no_listen: bool) -> bool:
    """Print the sign-in URL (and, with ``no_listen``, how to finish); whether to stop here."""
    print(f"Open this URL in a browser and sign in with the calendar owner's {whose}:")
    print(url, flush=True)
    if no_listen:
        print(f"Then run: booking-agent {command} connect --redirect-url "
              "'<the URL the browser landed on>'")
    return no_listen


def health(connection: ShownConnection, command: str) -> str:
    """A connection's health, as ``status`` and ``refresh`` show it."""
    if connection.status == "needs_reconnect":
        return (f"needs reconnect: {connection.status_reason} "
                f"(run: booking-agent {command} connect)")
    if connection.status == "disconnected":
        return "disconnected (campaigns using it have no calendar)"
    return "ok"


def print_status(found: Sequence[ShownConnection], *, provider: str, command: str,
                 details: Callable[[ShownConnection], tuple[str, str, list[str], str]]) -> None:
    """Each connection's block; ``details`` gives its account and calendar wording, any extra
    lines, and what the provider says its zone is (for when it is not usable)."""
    if not found:
        print(f"No {provider} connections. Connect one with: booking-agent {command} connect")
        return
    for c in found:
        account, calendar, extra, said = details(c)
        zone = c.owner_zone or f"the campaign's zone ({said})"
        print(f"{c.ref}")
        print(f"  account:   {account}")
        print(f"  calendar:  {calendar}")
        for line in extra:
            print(f"  {line}")
        print(f"  zone:      {zone}")
        print(f"  connected: {c.connected_at:%Y-%m-%d %H:%M} UTC")
        print(f"  health:    {health(c, command)}")


def one_calendar(calendars: Iterable[CalendarT], wanted: str) -> CalendarT:
    """The calendar with the id ``wanted``, else the one so named; ``ValueError`` unless one."""
    calendars = list(calendars)
    match = [c for c in calendars if c.id == wanted] or \
        [c for c in calendars if c.name.casefold() == wanted.casefold()]
    if len(match) != 1:
        raise ValueError(f"{len(match)} calendars match {wanted!r}; use the id")
    return match[0]


def print_calendar(calendar: ListedCalendar, *, booking: bool, marks: Iterable[tuple[str, bool]],
                   tail: str = "") -> None:
    """One line of ``calendars``: ``*`` on the booking calendar, the marks that apply, the id."""
    shown = [m for m, on in marks if on]
    print(f"{'*' if booking else ' '} {calendar.name}"
          f"{' [' + ', '.join(shown) + ']' if shown else ''}  id={calendar.id}{tail}")


class SyncedConnection(ShownConnection, Protocol):
    """A provider's connection, as ``sync``, ``events`` and ``changes`` name it."""

    @property
    def name(self) -> str: ...


@dataclass(frozen=True)
class SyncCommands(Generic[ConfigT]):
    """A provider's ``sync``, ``events`` and ``changes`` commands: its words and its sync.

    ``calendar``: the owner's calendar ("the Outlook calendar"); ``where``: where the owner
    changes it ("Outlook", "Google Calendar"); ``service``: who answers requests ("Graph",
    "Google"); ``incremental``: what a round that is not full is called; ``expired``: what
    a 410 means.
    """

    command: str
    calendar: str
    where: str
    service: str
    incremental: str
    expired: str
    open: Callable[[], tuple[ConfigT, Database]]
    errors: tuple[type[Exception], ...]
    find_connection: Callable[[Database, str], SyncedConnection]
    sync_calendar: Callable[[Database, ConfigT, str], Awaitable[SyncResult]]
    sync_status: Callable[[Database, str], SyncStatus]
    synced_events: Callable[..., list[SyncedEvent]]

    def add_to(self, commands: argparse._SubParsersAction) -> None:
        """Add ``sync``, ``events`` and ``changes`` to the provider's command group."""
        named = f"connection name (or {self.command}:<name>)"
        sync = commands.add_parser("sync", help="bring a connection's synced events and its "
                                   f"bookings in line with {self.calendar} now")
        sync.add_argument("connection", help=named)
        sync.set_defaults(func=self._sync)

        events = commands.add_parser("events", help="the synced events of a connection's "
                                     "booking calendar, with their meeting links")
        events.add_argument("connection", help=named)
        events.add_argument("--days", type=int, default=14,
                            help="how many days ahead to list (default 14)")
        events.set_defaults(func=self._events)

        changes = commands.add_parser("changes", help=f"what the owner's changes in "
                                      f"{self.where} did to bookings (cancellations, "
                                      "moves, conflicts, declines)")
        changes.add_argument("connection", help=named)
        changes.set_defaults(func=self._changes)

    def _sync(self, args: argparse.Namespace) -> int:
        try:
            config, database = self.open()
            result = asyncio.run(self.sync_calendar(database, config, args.connection))
        except self.errors as exc:
            return fail(exc)
        kind = "full sync" if result.full else self.incremental
        if result.resynced_after_410:
            kind += f" ({self.expired})"
        print(f"{result.calendar_ref}: {kind}: {result.changed} event(s) new or changed, "
              f"{result.removed} removed; {result.events} event(s) synced; "
              f"{result.requests} {self.service} request(s).")
        for label, ids in (("cancelled by the owner", result.cancelled),
                           ("moved by the owner", result.moved),
                           ("CONFLICT (moved onto another booking; both stay on the calendar)",
                            result.conflicts),
                           ("declined by the attendee", result.declined)):
            for booking_id in ids:
                print(f"  booking {booking_id}: {label}")
        return 0

    def _events(self, args: argparse.Namespace) -> int:
        if args.days < 1:
            return fail("--days must be at least 1")
        try:
            _config, database = self.open()
            connection = self.find_connection(database, args.connection)
            status = self.sync_status(database, connection.ref)
            now = datetime.now(UTC)
            events = self.synced_events(database, connection.ref, start=now,
                                        end=now + timedelta(days=args.days))
        except self.errors as exc:
            return fail(exc)
        if status.synced_at is None:
            return fail(f"{connection.ref} has never been synced: run "
                        f"booking-agent {self.command} sync {connection.name}")
        zone = ZoneInfo(connection.owner_zone or "UTC")
        print(f"{connection.ref}: calendar {connection.calendar_name!r}, synced "
              f"{status.synced_at:%Y-%m-%d %H:%M} UTC; times in {zone.key}")
        if not events:
            print(f"  no events in the next {args.days} days")
        for e in events:
            start, end = e.start.astimezone(zone), e.end.astimezone(zone)
            show_as = "cancelled" if e.is_cancelled else e.show_as
            subject = e.subject or "(no subject)"
            print(f"  {start:%a %Y-%m-%d %H:%M}-{end:%H:%M}  {show_as:<16} {subject}  "
                  f"{e.join_url or '-'}")
        return 0

    def _changes(self, args: argparse.Namespace) -> int:
        try:
            _config, database = self.open()
            connection = self.find_connection(database, args.connection)
            notes = owner_changes.notes(database, connection.ref)
        except self.errors as exc:
            return fail(exc)
        if not notes:
            print(f"{connection.ref}: no booking changed by the owner yet")
        for note in notes:
            kind = note.kind.upper() if note.kind == "conflict" else note.kind
            print(f"{note.created_at:%Y-%m-%d %H:%M} UTC  booking {note.booking_id}  "
                  f"{kind}: {note.detail}")
        return 0
