"""Calendars per organisation member, and which provider each member books on (seed 002).

A member (an operator of an organisation) connects their own Outlook and/or Google account
from the API or the console. The connections are the providers' ordinary rows, owned by the
member (``organisation_id``, ``operator_id``). The member books on exactly one of them: the
most recently connected is active; the member may switch without reconnecting;
disconnecting the active one falls back to the other; with none left, campaigns booking on
``member:<operator_id>`` stop offering booking and say why.

A campaign names a member's calendar as ``member:<operator_id>``; :func:`resolve` turns it
into the active connection's own reference (``outlook:<name>`` / ``google:<name>``), so
bookings are kept, raced and settled per real calendar.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import select

from calendar_backend.connections_common import (
    AccountConnectedElsewhere as AccountConnectedElsewhere,
)
from calendar_backend.connections_common import make_active
from calendar_backend.google import channels as google_channels
from calendar_backend.google import connections as google
from calendar_backend.google.config import GoogleConfig
from calendar_backend.outlook import connections as outlook
from calendar_backend.outlook import subscriptions as outlook_subscriptions
from calendar_backend.outlook.config import OutlookConfig
from calendar_backend.provider import CalendarUnavailable, UpcomingEvent
from storage.database import Database
from storage.member_tables import MemberCalendarRow
from storage.operator_tables import OperatorRow

MEMBER_PREFIX = "member:"
Provider = Literal["outlook", "google"]
PROVIDERS: tuple[Provider, ...] = ("outlook", "google")
# How far ahead the events listing looks unless asked otherwise.
DEFAULT_EVENT_DAYS = 14


class NotConnected(LookupError):
    """The member has no live connection of that provider."""


@dataclass(frozen=True)
class Member:
    """An organisation member (an operator) as calendars see them."""

    id: str
    email: str
    organisation_id: str

    @property
    def ref(self) -> str:
        """The value of ``booking.calendar`` that books on this member's active calendar."""
        return MEMBER_PREFIX + self.id


@dataclass(frozen=True)
class MemberConnection:
    """One of a member's connections and whether the member books on it now."""

    provider: Provider
    connection: outlook.Connection | google.Connection
    active: bool

    @property
    def account_type(self) -> str:
        """``work`` or ``personal`` for Outlook; Google accounts are ``google``."""
        return getattr(self.connection, "account_type", "google")

    @property
    def time_zone(self) -> str | None:
        """The owner's IANA zone as the provider reports it."""
        return self.connection.owner_zone


def is_member_ref(reference: str) -> bool:
    """Whether ``booking.calendar`` names a member's calendar (``member:<operator_id>``)."""
    return reference.startswith(MEMBER_PREFIX)


def member_id(reference: str) -> str:
    """The operator id in ``member:<operator_id>``."""
    return reference.removeprefix(MEMBER_PREFIX).strip()


def find_member(database: Database, organisation_id: str, operator_id: str) -> Member | None:
    """The organisation's member ``operator_id``; ``None`` for anyone else's (or nobody)."""
    with database.session() as session:
        row = session.get(OperatorRow, operator_id)
        if row is None or row.organisation_id != organisation_id:
            return None
        return Member(row.id, row.email, row.organisation_id)


def members(database: Database, organisation_id: str) -> list[Member]:
    """The organisation's members by e-mail."""
    with database.session() as session:
        rows = session.scalars(select(OperatorRow).where(
            OperatorRow.organisation_id == organisation_id).order_by(OperatorRow.email))
        return [Member(r.id, r.email, r.organisation_id) for r in rows]


def _table(provider: Provider):  # noqa: ANN202 - the two tables differ in row type only
    return outlook.table if provider == "outlook" else google.table


def active_provider(database: Database, operator_id: str) -> Provider | None:
    """The provider the member books on, if any."""
    with database.session() as session:
        row = session.get(MemberCalendarRow, operator_id)
        return row.active_provider if row is not None else None  # type: ignore[return-value]


def connections(database: Database, operator_id: str) -> list[MemberConnection]:
    """The member's live connections (connected or needing a reconnect), Outlook first."""
    active = active_provider(database, operator_id)
    found: list[MemberConnection] = []
    with database.session() as session:
        for provider in PROVIDERS:
            table = _table(provider)
            for row in table.member_rows(session, operator_id):
                found.append(MemberConnection(provider, table.connection(row),
                                              provider == active))
    return found


def connection(database: Database, operator_id: str,
               provider: Provider) -> outlook.Connection | google.Connection:
    """The member's live connection of ``provider``; :class:`NotConnected` without one."""
    for found in connections(database, operator_id):
        if found.provider == provider:
            return found.connection
    raise NotConnected(f"this member has no {provider.capitalize()} calendar connected")


def set_active(database: Database, operator_id: str, provider: Provider) -> None:
    """Book on the member's ``provider`` connection from now on (no reconnecting)."""
    connection(database, operator_id, provider)  # raises NotConnected
    with database.session() as session:
        make_active(session, operator_id, provider)


async def disconnect(database: Database, outlook_config: OutlookConfig,
                     google_config: GoogleConfig, operator_id: str,
                     provider: Provider) -> Provider | None:
    """Remove the member's ``provider`` connection: its change notifications are stopped at
    the provider, then its tokens go (Google's grant is revoked too) with its sync state and
    synced copy. When it was the active one, the other connected provider takes over.
    Returns the member's active provider afterwards (``None``: booking on the member stops)."""
    found = connection(database, operator_id, provider)
    if provider == "outlook":
        await outlook_subscriptions.disconnect(database, outlook_config, found.name)
    else:
        await google_channels.disconnect(database, google_config, found.name)
    remaining = [c.provider for c in connections(database, operator_id)
                 if c.connection.status == "connected"]
    with database.session() as session:
        current = session.get(MemberCalendarRow, operator_id)
        active = current.active_provider if current is not None else None
        if active == provider or active is None:
            active = remaining[0] if remaining else None  # type: ignore[assignment]
            make_active(session, operator_id, active)
    return active  # type: ignore[return-value]


def resolve(database: Database, organisation_id: str,
            reference: str) -> tuple[str | None, str | None]:
    """The concrete reference ``member:<operator_id>`` books on for ``organisation_id``,
    and ``None`` with the reason when it books nowhere now."""
    operator_id = member_id(reference)
    if find_member(database, organisation_id, operator_id) is None:
        return None, f"{reference!r} is not a member of this organisation"
    active = active_provider(database, operator_id)
    if active is None:
        return None, ("the calendar owner has no calendar connected: connect one in "
                      "Settings")
    try:
        found = connection(database, operator_id, active)
    except NotConnected as exc:
        return None, str(exc)
    if found.status != "connected":
        return None, (f"calendar access has expired for the owner's {active.capitalize()} "
                      f"calendar ({found.status_reason or found.status}): reconnect it in "
                      "Settings")
    return found.ref, None


async def list_calendars(database: Database, outlook_config: OutlookConfig,
                         google_config: GoogleConfig, operator_id: str,
                         provider: Provider) -> list[tuple[str, str, bool, bool]]:
    """The calendars of the member's account: ``(id, name, can_edit, chosen)`` each."""
    found = connection(database, operator_id, provider)
    if provider == "outlook":
        calendars = await outlook.list_calendars(database, outlook_config, found.name)
    else:
        calendars = await google.list_calendars(database, google_config, found.name)
    return [(c.id, c.name, c.can_edit, c.id == found.calendar_id) for c in calendars]


async def choose_calendar(database: Database, outlook_config: OutlookConfig,
                          google_config: GoogleConfig, operator_id: str, provider: Provider,
                          calendar_id: str) -> outlook.Connection | google.Connection:
    """Book on the account's calendar ``calendar_id`` from now on. ``LookupError`` when the
    account has no such calendar, ``ValueError`` when it is read-only."""
    found = connection(database, operator_id, provider)
    if provider == "outlook":
        outlook_calendars = await outlook.list_calendars(database, outlook_config, found.name)
        chosen_o = next((c for c in outlook_calendars if c.id == calendar_id), None)
        if chosen_o is None:
            raise LookupError("this account has no such calendar")
        return outlook.set_calendar(database, found.name, chosen_o)
    google_calendars = await google.list_calendars(database, google_config, found.name)
    chosen_g = next((c for c in google_calendars if c.id == calendar_id), None)
    if chosen_g is None:
        raise LookupError("this account has no such calendar")
    return google.set_calendar(database, found.name, chosen_g)


async def upcoming_events(database: Database, outlook_config: OutlookConfig,
                          google_config: GoogleConfig, operator_id: str, provider: Provider,
                          days: int = DEFAULT_EVENT_DAYS,
                          now: datetime | None = None) -> list[UpcomingEvent]:
    """The chosen calendar's events from now to ``days`` ahead. Raises
    :class:`CalendarUnavailable` when the connection cannot be read now."""
    found = connection(database, operator_id, provider)
    start = now or datetime.now(UTC)
    if provider == "outlook":
        calendar = outlook.open_calendar(database, outlook_config, found.ref,
                                         budget_seconds=10.0)
    else:
        calendar = google.open_calendar(database, google_config, found.ref,
                                        budget_seconds=10.0)
    if calendar is None:
        raise CalendarUnavailable(f"the {provider.capitalize()} connection is {found.status}",
                                  needs_reconnect=True)
    return await calendar.upcoming_events(start, start + timedelta(days=days))


def organisation_of(database: Database, reference: str) -> str | None:
    """The organisation owning the connection ``outlook:<name>`` / ``google:<name>``
    (``None``: a server-wide connection, another kind of reference, or none)."""
    table = outlook.table if outlook.is_outlook_ref(reference) else \
        google.table if google.is_google_ref(reference) else None
    if table is None:
        return None
    with database.session() as session:
        row = table.by_name(session, table.name(reference))
        return getattr(row, "organisation_id", None) if row is not None else None


def members_with_calendar(database: Database, organisation_id: str) -> list[Member]:
    """The organisation's members who have a calendar connected now (the calendar-owner
    dropdown lists them)."""
    return [m for m in members(database, organisation_id)
            if resolve(database, organisation_id, m.ref)[0] is not None]
