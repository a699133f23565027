"""Outlook connections: records, health, the token source for Graph, and the calendar factory.

A campaign names the calendar it books on with ``booking.calendar``: ``"local"`` is the
embedded calendar, ``"outlook:<connection name>"`` an Outlook connection (its chosen
calendar). Other code asks :func:`connection_usable` whether booking can be offered and
:func:`open_calendar` for the provider.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select, update

from calendar_backend import calendar_sync
from calendar_backend.connections_common import (
    DISCONNECTED,
    CachedTokens,
    ConnectionBase,
    ConnectionTable,
    pick_calendar,
)
from calendar_backend.connections_common import ConnectionNameTaken as ConnectionNameTaken
from calendar_backend.connections_common import ConnectionNotFound as ConnectionNotFound
from calendar_backend.outlook.auth import SignedIn, TokenRefreshFailed, acquire_silently
from calendar_backend.outlook.calendar import OutlookCalendar
from calendar_backend.outlook.config import OutlookConfig
from calendar_backend.outlook.graph_client import GraphClient
from calendar_backend.outlook.models import GraphCalendar, GraphUser, MailboxSettings
from calendar_backend.outlook.synced_copy import fresh_busy_times
from calendar_backend.outlook.windows_zones import iana_zone
from calendar_backend.provider import CalendarUnavailable
from calendar_backend.token_store import cipher
from storage.database import Database
from storage.outlook_tables import OutlookConnectionRow

log = logging.getLogger(__name__)

OUTLOOK_PREFIX = "outlook:"


class AlreadyConnectedAs(ValueError):
    """The account is already connected under another name; renaming it would strand the
    campaigns that book on the old name."""


class CalendarRef(BaseModel):
    """A calendar of the account, as recorded on the connection."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str


@dataclass(frozen=True)
class Connection(ConnectionBase):
    """One connected Microsoft account and the calendar booked on."""

    id: str
    name: str
    username: str
    tenant_id: str
    object_id: str
    home_account_id: str
    account_type: str  # "work" or "personal"
    calendar_id: str
    calendar_name: str
    calendar_is_default: bool | None  # None: not recorded (connected before it was)
    blocking_calendars: tuple[CalendarRef, ...]  # other calendars whose busy time counts
    teams_allowed: bool
    mailbox_time_zone: str | None
    status: str  # "connected", "needs_reconnect", "disconnected"
    status_reason: str | None
    connected_at: datetime
    refreshed_at: datetime | None
    organisation_id: str | None = None  # the member's organisation (None: server-wide)
    operator_id: str | None = None  # the member who connected it (None: from the CLI)

    PREFIX = OUTLOOK_PREFIX

    @property
    def owner_zone(self) -> str | None:
        """The owner's IANA zone, or ``None`` (then the campaign's zone applies)."""
        return iana_zone(self.mailbox_time_zone)


def _connection(row: OutlookConnectionRow) -> Connection:
    return Connection(
        id=row.id, name=row.name, username=row.username, tenant_id=row.tenant_id,
        object_id=row.object_id, home_account_id=row.home_account_id,
        account_type=row.account_type, calendar_id=row.calendar_id,
        calendar_name=row.calendar_name, calendar_is_default=row.calendar_is_default,
        blocking_calendars=tuple(CalendarRef.model_validate(c)
                                 for c in row.blocking_calendars or ()),
        teams_allowed=row.teams_allowed,
        mailbox_time_zone=row.mailbox_time_zone, status=row.status,
        status_reason=row.status_reason, connected_at=row.connected_at,
        refreshed_at=row.refreshed_at, organisation_id=row.organisation_id,
        operator_id=row.operator_id,
    )


_table = ConnectionTable(OutlookConnectionRow, _connection, token_column="token_cache",
                         prefix=OUTLOOK_PREFIX, provider="Outlook", command="outlook", log=log)

# The shared lookups, under the names callers use.
is_outlook_ref = _table.is_ref
list_connections = _table.list
find_connection = _table.find
table = _table  # member calendars read the member's rows through it
require_token_key = _table.require_token_key
mark_needs_reconnect = _table.mark_needs_reconnect


def connection_usable(database: Database, calendar_ref: str) -> bool:
    """Whether booking on ``calendar_ref`` can be offered now.

    ``"local"`` always can; an Outlook connection only while connected (not after a refresh
    failure or a disconnect, and not when the name is unknown).
    """
    return not is_outlook_ref(calendar_ref) or _table.usable(database, calendar_ref)


def open_calendar(database: Database, config: OutlookConfig, calendar_ref: str, *,
                  budget_seconds: float = 4.0) -> OutlookCalendar | None:
    """The calendar provider for an ``outlook:<name>`` reference.

    Returns ``None`` while the connection needs reconnecting or was disconnected (the call
    goes on without booking). Raises :class:`ConnectionNotFound` for an unknown name,
    :class:`TokenKeyMissing` without a token key, ``ValueError`` for a non-Outlook reference.
    """
    if not is_outlook_ref(calendar_ref):
        raise ValueError(f"{calendar_ref!r} is not an Outlook calendar (outlook:<name>)")
    connection = find_connection(database, calendar_ref)
    if not connection.usable:
        return None
    cipher(config)
    graph = GraphClient(config.graph_base_url, ConnectionTokens(database, config, connection),
                        mailbox=connection.home_account_id, budget_seconds=budget_seconds)
    synced = calendar_sync.synced_busy(database, connection, config.synced_fresh_seconds,
                                       fresh_busy_times)
    return OutlookCalendar(graph, connection.calendar_id, owner_zone=connection.owner_zone,
                           teams_allowed=connection.teams_allowed,
                           books_on_default=connection.calendar_is_default is True,
                           blocking_calendar_ids=[c.id for c in connection.blocking_calendars],
                           synced=synced)


def save_connection(database: Database, config: OutlookConfig, signed: SignedIn, user: GraphUser,
                    mailbox: MailboxSettings, calendars: Iterable[GraphCalendar], *,
                    name: str | None = None, operator_id: str | None = None) -> Connection:
    """Record a completed sign-in: a new connection, or the reconnection of a known account.

    ``operator_id``: the organisation member connecting it (from the API or the console);
    it becomes that member's Outlook connection and their active provider. The member's
    earlier account, if another, is left connected here: ending it takes Graph calls its
    tokens still allow (:func:`calendar_backend.outlook.sign_in.complete_sign_in`).
    """
    blob = cipher(config).encrypt(signed.cache)
    calendars = list(calendars)
    with database.session(serial=True) as session:
        row = session.scalars(select(OutlookConnectionRow).where(
            OutlookConnectionRow.tenant_id == signed.tenant_id,
            OutlookConnectionRow.object_id == signed.object_id)).first()
        wanted = _table.name(name) if name else None
        _table.check_name_free(session, wanted, row)
        if wanted:
            if row is not None and row.name != wanted:
                raise AlreadyConnectedAs(
                    f"{row.username} is already connected as {OUTLOOK_PREFIX}{row.name}, and "
                    "campaigns book on it by that name; nothing was changed. To reconnect it, "
                    f"run connect again without --name (or with --name {row.name}).")
        default_name = _table.name(user.email or signed.username)
        if operator_id is not None:
            organisation_id, default_name = _table.claim_for_member(
                session, row, operator_id, user.email or signed.username)
        previous = row.calendar_id if row is not None else None
        calendar = pick_calendar(calendars, previous, lambda c: c.is_default)
        if row is None:
            row = OutlookConnectionRow(id=str(uuid.uuid4()), name=wanted or default_name,
                                       tenant_id=signed.tenant_id, object_id=signed.object_id,
                                       connected_at=datetime.now(UTC))
            session.add(row)
        if operator_id is not None:
            row.organisation_id, row.operator_id = organisation_id, operator_id
        row.home_account_id = signed.home_account_id
        row.username = user.email or signed.username
        row.account_type = "personal" if signed.personal else "work"
        row.calendar_id, row.calendar_name = calendar.id, calendar.name
        row.calendar_is_default = calendar.is_default
        row.teams_allowed = calendar.teams_allowed
        row.mailbox_time_zone = mailbox.time_zone or None
        row.status, row.status_reason = "connected", None
        row.token_cache = blob
        row.connected_at = datetime.now(UTC)
        row.refreshed_at = datetime.now(UTC)
        session.flush()
        if operator_id is not None:
            _table.make_active(session, operator_id)
        return _connection(row)


def set_calendar(database: Database, name: str, calendar: GraphCalendar) -> Connection:
    """Book on ``calendar`` from now on."""
    if not calendar.can_edit:
        raise ValueError(f"calendar {calendar.name!r} is read-only for this account")
    with database.session() as session:
        row = _table.row(session, name, hint=False)
        row.calendar_id, row.calendar_name = calendar.id, calendar.name
        row.calendar_is_default = calendar.is_default
        row.teams_allowed = calendar.teams_allowed
        session.flush()
        return _connection(row)


def set_blocking(database: Database, name: str, calendar: GraphCalendar,
                 blocking: bool) -> Connection:
    """Whether the owner's busy time on ``calendar`` blocks booking (besides the booking
    calendar's own, and the default calendar's, which always does)."""
    with database.session() as session:
        row = _table.row(session, name, hint=False)
        kept = [c for c in row.blocking_calendars or () if c.get("id") != calendar.id]
        if blocking:
            kept.append(CalendarRef(id=calendar.id, name=calendar.name).model_dump())
        row.blocking_calendars = kept  # a new list: the JSON column sees the change
        session.flush()
        return _connection(row)


def disconnect(database: Database, name: str, reason: str = DISCONNECTED) -> Connection:
    """Remove the connection's tokens; campaigns booking on it are left without a calendar.
    ``reason``: why, as its status shows.

    Only the tokens: a disconnect goes through
    :func:`calendar_backend.outlook.subscriptions.disconnect`, which ends the calendar's
    subscription first and its synced copy after."""
    return _table.forget_tokens(database, name, hint=False, reason=reason)


# MSAL is not safe to run twice at once on one cache: serialise per connection in-process.
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock(connection_id: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(connection_id, threading.Lock())


class ConnectionTokens(CachedTokens):
    """Access tokens for one connection, from its encrypted MSAL cache in the database."""

    def __init__(self, database: Database, config: OutlookConfig, connection: Connection) -> None:
        super().__init__(_table, database, connection.id)
        self._config, self._connection = config, connection

    async def _fetch(self, force_refresh: bool) -> tuple[str, float]:
        # MSAL silent acquisition, in a thread.
        return await asyncio.to_thread(self._acquire, force_refresh)

    def _acquire(self, force_refresh: bool) -> tuple[str, int]:
        connection = self._connection
        with _lock(connection.id):
            cache, box = _table.stored_tokens(self._database, self._config, connection.id)
            try:
                token = acquire_silently(self._config, cache, connection.home_account_id,
                                         force_refresh=force_refresh)
            except TokenRefreshFailed as exc:
                if exc.needs_reconnect:
                    mark_needs_reconnect(self._database, connection.id, exc.reason)
                raise CalendarUnavailable(exc.reason, needs_reconnect=exc.needs_reconnect) \
                    from None
            if token.cache is not None:
                _table.save_tokens(self._database, connection.id, box.encrypt(token.cache))
            return token.access_token, token.expires_in


def _operator_graph(tokens: ConnectionTokens, config: OutlookConfig,
                    connection: Connection) -> GraphClient:
    """A Graph client for operator commands and upkeep (no live caller: a longer budget)."""
    return GraphClient(config.graph_base_url, tokens, mailbox=connection.home_account_id,
                       budget_seconds=10.0)


async def list_calendars(database: Database, config: OutlookConfig,
                         name: str) -> list[GraphCalendar]:
    """The calendars of the connection's account."""
    connection = find_connection(database, name)
    tokens = ConnectionTokens(database, config, connection)
    items = await _operator_graph(tokens, config, connection).get_all(
        "/me/calendars", params={"$top": "100"})
    return [GraphCalendar.model_validate(item) for item in items]


@dataclass(frozen=True)
class Refreshed:
    """A connection after a refresh, and why the refresh failed (``None``: it worked)."""

    connection: Connection
    problem: str | None = None


async def refresh_connection(database: Database, config: OutlookConfig,
                             connection: Connection) -> Refreshed:
    """Refresh the connection's tokens and the owner's zone now.

    A refused refresh marks the connection as needing a reconnect; an identity platform or
    Graph that does not answer leaves it connected, with the failure in ``problem``.
    """
    tokens = ConnectionTokens(database, config, connection)
    problem = None
    try:
        await tokens.access_token(force_refresh=True)
        graph = _operator_graph(tokens, config, connection)
        mailbox = MailboxSettings.model_validate(await graph.get("/me/mailboxSettings"))
    except CalendarUnavailable as exc:
        log.warning("refreshing Outlook connection %s failed: %s", connection.name, exc.reason)
        problem = exc.reason
    else:
        # The owner may have changed their zone in Outlook since connecting.
        with database.session() as session:
            session.execute(update(OutlookConnectionRow)
                            .where(OutlookConnectionRow.id == connection.id)
                            .values(mailbox_time_zone=mailbox.time_zone or None))
    return Refreshed(find_connection(database, connection.name), problem)


async def refresh_all(database: Database, config: OutlookConfig) -> list[Refreshed]:
    """Refresh every connected account (keeps idle refresh tokens from expiring)."""
    return [await refresh_connection(database, config, c)
            for c in list_connections(database) if c.usable]
