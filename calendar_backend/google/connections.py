"""Google connections: records, health, the token source for the API, and the calendar factory.

A campaign names the calendar it books on with ``booking.calendar``: ``"google:<connection
name>"`` is a Google connection (its chosen calendar). Other code asks
:func:`connection_usable` whether booking can be offered and :func:`open_calendar` for the
provider.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import select, update

from calendar_backend import calendar_sync
from calendar_backend.connections_common import (
    DISCONNECTED,
    EXPIRY_MARGIN_SECONDS,
    CachedTokens,
    ConnectionBase,
    ConnectionTable,
)
from calendar_backend.connections_common import ConnectionNameTaken as ConnectionNameTaken
from calendar_backend.connections_common import ConnectionNotFound as ConnectionNotFound
from calendar_backend.connections_common import pick_calendar as pick_any_calendar
from calendar_backend.google.api_client import CalendarApiClient, GoogleApiError
from calendar_backend.google.auth import TokenRefreshFailed, refresh, revoke
from calendar_backend.google.calendar import GoogleCalendar
from calendar_backend.google.config import GoogleConfig
from calendar_backend.google.models import CalendarListEntry
from calendar_backend.google.synced_copy import fresh_busy_times
from calendar_backend.provider import CalendarUnavailable
from calendar_backend.token_store import TokenCipher, TokenKeyMissing, TokenKeyWrong, cipher
from storage.database import Database
from storage.google_tables import GoogleConnectionRow

log = logging.getLogger(__name__)

GOOGLE_PREFIX = "google:"


class StoredToken(BaseModel):
    """The OAuth token as kept (encrypted) in the database."""

    model_config = ConfigDict(extra="ignore")

    access_token: str
    refresh_token: str
    expires_at: float
    scope: str = ""

    @classmethod
    def of(cls, token: dict[str, Any]) -> StoredToken:
        """The parts of a token-endpoint answer worth keeping."""
        return cls.model_validate(token)


@dataclass(frozen=True)
class Connection(ConnectionBase):
    """One connected Google account and the calendar booked on."""

    id: str
    name: str
    username: str
    subject: str
    calendar_id: str
    calendar_name: str
    meet_allowed: bool
    calendar_time_zone: str | None
    status: str  # "connected", "needs_reconnect", "disconnected"
    status_reason: str | None
    connected_at: datetime
    refreshed_at: datetime | None
    organisation_id: str | None = None  # the member's organisation (None: server-wide)
    operator_id: str | None = None  # the member who connected it (None: from the CLI)

    PREFIX = GOOGLE_PREFIX

    @property
    def owner_zone(self) -> str | None:
        """The calendar's IANA zone, or ``None`` (then the campaign's zone applies)."""
        return iana_or_none(self.calendar_time_zone)


def iana_or_none(name: str | None) -> str | None:
    """``name`` when it is an IANA zone this machine knows, else ``None``."""
    if not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def _connection(row: GoogleConnectionRow) -> Connection:
    return Connection(
        id=row.id, name=row.name, username=row.username, subject=row.subject,
        calendar_id=row.calendar_id, calendar_name=row.calendar_name,
        meet_allowed=row.meet_allowed, calendar_time_zone=row.calendar_time_zone,
        status=row.status, status_reason=row.status_reason, connected_at=row.connected_at,
        refreshed_at=row.refreshed_at, organisation_id=row.organisation_id,
        operator_id=row.operator_id,
    )


_table = ConnectionTable(GoogleConnectionRow, _connection, token_column="token",
                         prefix=GOOGLE_PREFIX, provider="Google", command="google", log=log)

# The shared lookups, under the names callers use.
is_google_ref = _table.is_ref
list_connections = _table.list
find_connection = _table.find
table = _table  # member calendars read the member's rows through it
require_token_key = _table.require_token_key
mark_needs_reconnect = _table.mark_needs_reconnect


def connection_usable(database: Database, calendar_ref: str) -> bool:
    """Whether booking on the Google connection ``calendar_ref`` can be offered now."""
    return is_google_ref(calendar_ref) and _table.usable(database, calendar_ref)


def open_calendar(database: Database, config: GoogleConfig, calendar_ref: str, *,
                  budget_seconds: float = 4.0) -> GoogleCalendar | None:
    """The calendar provider for a ``google:<name>`` reference.

    Returns ``None`` while the connection needs reconnecting or was disconnected (the call
    goes on without booking). Raises :class:`ConnectionNotFound` for an unknown name,
    :class:`TokenKeyMissing` without a token key, ``ValueError`` for a non-Google reference.
    """
    if not is_google_ref(calendar_ref):
        raise ValueError(f"{calendar_ref!r} is not a Google calendar (google:<name>)")
    connection = find_connection(database, calendar_ref)
    if not connection.usable:
        return None
    cipher(config)
    api = CalendarApiClient(config.calendar_base_url,
                            ConnectionTokens(database, config, connection),
                            budget_seconds=budget_seconds)
    synced = calendar_sync.synced_busy(database, connection, config.synced_fresh_seconds,
                                       fresh_busy_times)
    return GoogleCalendar(api, connection.calendar_id, owner_zone=connection.owner_zone,
                          meet_allowed=connection.meet_allowed, synced=synced)


def pick_calendar(calendars: Iterable[CalendarListEntry],
                  previous: str | None = None) -> CalendarListEntry:
    """The calendar to book on: the one used before, else the primary, else any editable."""
    return pick_any_calendar(calendars, previous, lambda c: c.primary)


def save_connection(database: Database, config: GoogleConfig, subject: str, email: str,
                    token: dict[str, Any], calendars: Iterable[CalendarListEntry], *,
                    name: str | None = None, operator_id: str | None = None) -> Connection:
    """Record a completed sign-in: a new connection, or the reconnection of a known account.

    ``operator_id``: the organisation member connecting it (from the API or the console);
    it becomes that member's Google connection and their active provider. The member's
    earlier account, if another, is left connected here: ending it takes Google calls its
    tokens still allow (:func:`calendar_backend.google.sign_in.complete_sign_in`).
    """
    blob = cipher(config).encrypt(StoredToken.of(token).model_dump_json())
    calendars = list(calendars)
    now = datetime.now(UTC)
    with database.session(serial=True) as session:
        row = session.scalars(select(GoogleConnectionRow)
                              .where(GoogleConnectionRow.subject == subject)).first()
        wanted = _table.name(name) if name else None
        _table.check_name_free(session, wanted, row)
        default_name = _table.name(email)
        if operator_id is not None:
            organisation_id, default_name = _table.claim_for_member(session, row, operator_id,
                                                                    email)
        calendar = pick_calendar(calendars, row.calendar_id if row is not None else None)
        if row is None:
            row = GoogleConnectionRow(id=str(uuid.uuid4()), name=wanted or default_name,
                                      subject=subject)
            session.add(row)
        elif wanted:
            row.name = wanted
        if operator_id is not None:
            row.organisation_id, row.operator_id = organisation_id, operator_id
        row.username = email
        _use_calendar(row, calendar)
        row.status, row.status_reason = "connected", None
        row.token = blob
        row.connected_at = row.refreshed_at = now
        session.flush()
        if operator_id is not None:
            _table.make_active(session, operator_id)
        return _connection(row)


def _use_calendar(row: GoogleConnectionRow, calendar: CalendarListEntry) -> None:
    row.calendar_id, row.calendar_name = calendar.id, calendar.name
    row.meet_allowed = calendar.meet_allowed
    row.calendar_time_zone = calendar.time_zone


def set_calendar(database: Database, name: str, calendar: CalendarListEntry) -> Connection:
    """Book on ``calendar`` from now on (its zone becomes the owner's)."""
    if not calendar.can_edit:
        raise ValueError(f"calendar {calendar.name!r} is read-only for this account")
    with database.session() as session:
        row = _table.row(session, name)
        _use_calendar(row, calendar)
        session.flush()
        return _connection(row)


async def disconnect(database: Database, config: GoogleConfig, name: str,
                     reason: str = DISCONNECTED) -> tuple[Connection, bool]:
    """Revoke the grant at Google and delete the tokens; campaigns booking on it are left
    without a calendar. ``reason``: why, as its status shows. Returns the connection and
    whether Google confirmed the revocation.

    Only the grant and the tokens: a disconnect goes through
    :func:`calendar_backend.google.channels.disconnect`, which stops the calendar's push
    channel first and removes its synced copy after."""
    with database.session() as session:
        row = _table.row(session, name)
        blob = row.token
    revoked = False
    if blob is not None:
        try:
            stored = StoredToken.model_validate_json(cipher(config).decrypt(blob))
        except (TokenKeyMissing, TokenKeyWrong, ValidationError):
            stored = None  # the tokens go all the same; Google's grant outlives them
        if stored is not None:
            revoked = await revoke(config, stored.refresh_token)
    return _table.forget_tokens(database, name, reason=reason), revoked


class ConnectionTokens(CachedTokens):
    """Access tokens for one connection, from its encrypted token in the database."""

    def __init__(self, database: Database, config: GoogleConfig, connection: Connection) -> None:
        super().__init__(_table, database, connection.id)
        self._config, self._connection = config, connection

    async def _fetch(self, force_refresh: bool) -> tuple[str, float]:
        # The stored token while fresh, else refreshed at Google.
        stored, box = await asyncio.to_thread(self._load)
        if force_refresh or stored.expires_at - EXPIRY_MARGIN_SECONDS <= time.time():
            try:
                fresh = await refresh(self._config, stored.refresh_token)
            except TokenRefreshFailed as exc:
                if exc.needs_reconnect:
                    await asyncio.to_thread(mark_needs_reconnect, self._database,
                                            self._connection.id, exc.reason)
                raise CalendarUnavailable(exc.reason, needs_reconnect=exc.needs_reconnect) \
                    from None
            stored = StoredToken.of(fresh)
            await asyncio.to_thread(_table.save_tokens, self._database, self._connection.id,
                                    box.encrypt(stored.model_dump_json()))
        return stored.access_token, stored.expires_at - time.time()

    def _load(self) -> tuple[StoredToken, TokenCipher]:
        text, box = _table.stored_tokens(self._database, self._config, self._connection.id)
        return StoredToken.model_validate_json(text), box


def _operator_api(database: Database, config: GoogleConfig,
                  connection: Connection) -> CalendarApiClient:
    """An API client for operator commands and upkeep (no live caller: a longer budget)."""
    return CalendarApiClient(config.calendar_base_url,
                             ConnectionTokens(database, config, connection), budget_seconds=10.0)


async def fetch_calendars(api: CalendarApiClient) -> list[CalendarListEntry]:
    """The calendars of the account ``api`` speaks for."""
    items = await api.get_all("/users/me/calendarList", params={"maxResults": "250"})
    return [CalendarListEntry.model_validate(item) for item in items]


async def list_calendars(database: Database, config: GoogleConfig,
                         name: str) -> list[CalendarListEntry]:
    """The calendars of the connection's account."""
    connection = find_connection(database, name)
    return await fetch_calendars(_operator_api(database, config, connection))


async def refresh_connection(database: Database, config: GoogleConfig,
                             connection: Connection) -> Connection:
    """Refresh the connection's tokens and the calendar's zone now.

    A refused refresh marks the connection as needing a reconnect.
    """
    tokens = ConnectionTokens(database, config, connection)
    try:
        await tokens.access_token(force_refresh=True)
        api = CalendarApiClient(config.calendar_base_url, tokens, budget_seconds=10.0)
        path = "/users/me/calendarList/" + quote(connection.calendar_id, safe="")
        entry = CalendarListEntry.model_validate(await api.get(path))
    except CalendarUnavailable as exc:
        log.warning("refreshing Google connection %s failed: %s", connection.name, exc.reason)
    except GoogleApiError as exc:
        log.warning("reading Google connection %s's calendar failed: %s", connection.name,
                    exc.reason)
    else:
        # The owner may have changed the calendar's zone in Google Calendar since connecting.
        with database.session() as session:
            session.execute(update(GoogleConnectionRow)
                            .where(GoogleConnectionRow.id == connection.id)
                            .values(calendar_time_zone=entry.time_zone))
    return find_connection(database, connection.name)


async def refresh_all(database: Database, config: GoogleConfig) -> list[Connection]:
    """Refresh every connected account (finds revoked grants before a call needs them)."""
    return [await refresh_connection(database, config, c)
            for c in list_connections(database) if c.usable]
