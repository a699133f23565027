"""What the ``outlook`` and ``google`` command groups share: the connection commands' arguments,
opening the database, errors, health, the status block and the calendar list."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Protocol, TypeVar

from app.settings import Settings, get_settings
from calendar_backend.connections_common import ConnectionNameTaken, ConnectionNotFound
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
