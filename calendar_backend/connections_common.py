"""What every provider's connections share: naming, the table's reads and status changes, the
encrypted tokens, and the access-token cache.

A provider module (``outlook.connections``, ``google.connections``) keeps what differs: its
row and connection fields, its sign-in record and its token refresh.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from calendar_backend.api_http import TokenSource
from calendar_backend.provider import CalendarUnavailable
from calendar_backend.token_store import (
    HasTokenKey,
    TokenCipher,
    TokenKeyMissing,
    TokenKeyWrong,
    cipher,
)
from storage.database import Database
from storage.member_tables import MemberCalendarRow
from storage.operator_tables import OperatorRow

# Reuse an access token until this close to its expiry (MSAL refreshes at 5 minutes).
EXPIRY_MARGIN_SECONDS = 300
# Why a connection is disconnected, as its status shows.
DISCONNECTED = "disconnected by the operator"
REPLACED = "replaced by another account"


class ConnectionNotFound(LookupError):
    """No connection of the provider has that name."""


class ConnectionNameTaken(ValueError):
    """Another account of the provider is already connected under that name."""


class AccountConnectedElsewhere(ValueError):
    """The account is connected for another member, or server-wide from the CLI: connecting
    it here would take it away from the campaigns booking on it there."""


class MemberUnknown(LookupError):
    """The member a sign-in was started for no longer exists."""


class ConnectionBase:
    """What a provider's ``Connection`` dataclass (with ``name`` and ``status``) derives."""

    PREFIX: ClassVar[str]
    name: str
    status: str  # "connected", "needs_reconnect", "disconnected"

    @property
    def ref(self) -> str:
        """The value of ``booking.calendar`` that books on this connection."""
        return self.PREFIX + self.name

    @property
    def usable(self) -> bool:
        """Whether booking can use this connection now."""
        return self.status == "connected"


class HasIdentity(Protocol):
    """A provider's connection record, as the shared code reads it."""

    @property
    def id(self) -> str: ...

    @property
    def username(self) -> str: ...


class HasStatus(Protocol):
    """A provider's connection (``outlook.connections.Connection`` and Google's)."""

    @property
    def id(self) -> str: ...

    @property
    def status(self) -> str: ...


RowT = TypeVar("RowT", bound=HasIdentity)
ConnectionT = TypeVar("ConnectionT", bound=HasStatus)
CalendarT = TypeVar("CalendarT", bound="EditableCalendar")


class EditableCalendar(Protocol):
    """A calendar as the provider lists it."""

    @property
    def id(self) -> str: ...

    @property
    def can_edit(self) -> bool: ...


class ConnectionTable(Generic[RowT, ConnectionT]):
    """One provider's connections table: ``<prefix><name>`` references, lookups and status.

    ``token_column`` names the row's encrypted-token column; ``provider`` ("Outlook") and
    ``command`` ("outlook") word the messages.
    """

    def __init__(self, row_type: type[RowT], connection: Callable[[RowT], ConnectionT], *,
                 token_column: str, prefix: str, provider: str, command: str,
                 log: logging.Logger) -> None:
        self.row_type, self._connection = row_type, connection
        self._token_column = token_column
        self.prefix, self.provider, self.command = prefix, provider, command
        self._log = log

    def _column(self, name: str) -> Any:
        return getattr(self.row_type, name)

    def is_ref(self, calendar_ref: str) -> bool:
        """Whether ``booking.calendar`` names a connection of this provider."""
        return calendar_ref.startswith(self.prefix)

    def name(self, name_or_ref: str) -> str:
        """The connection name in ``name`` or ``<prefix>name`` (trimmed, lower case)."""
        return name_or_ref.removeprefix(self.prefix).strip().lower()

    def connection(self, row: RowT) -> ConnectionT:
        """The provider's connection for ``row``."""
        return self._connection(row)

    def by_name(self, session: Session, name: str) -> RowT | None:
        """The row called ``name`` (already normalised), if any."""
        return session.scalars(select(self.row_type)
                               .where(self._column("name") == name)).first()

    def row(self, session: Session, name: str, *, hint: bool = True) -> RowT:
        """The row called ``name`` (or ``<prefix>name``); raises :class:`ConnectionNotFound`
        (``hint``: its message points at the status command)."""
        row = self.by_name(session, self.name(name))
        if row is None:
            see = f" (see: booking-agent {self.command} status)" if hint else ""
            raise ConnectionNotFound(
                f"no {self.provider} connection named {self.name(name)!r}{see}")
        return row

    def list(self, database: Database) -> list[ConnectionT]:
        """Every connection, by name."""
        with database.session() as session:
            rows = session.scalars(select(self.row_type).order_by(self._column("name")))
            return [self._connection(row) for row in rows]

    def find(self, database: Database, name_or_ref: str) -> ConnectionT:
        """The connection called ``name`` (or ``<prefix>name``)."""
        with database.session() as session:
            return self._connection(self.row(session, name_or_ref))

    def usable(self, database: Database, calendar_ref: str) -> bool:
        """Whether the connection ``calendar_ref`` exists and is connected."""
        try:
            return self.find(database, calendar_ref).status == "connected"
        except ConnectionNotFound:
            return False

    def require_token_key(self, database: Database, config: HasTokenKey) -> None:
        """Refuse to start when stored tokens exist but no valid token key is configured."""
        with database.session() as session:
            stored = session.scalars(select(self._column("id"))
                                     .where(self._column(self._token_column).is_not(None))
                                     ).first()
        if stored is not None:
            cipher(config)

    def check_name_free(self, session: Session, wanted: str | None, row: RowT | None) -> None:
        """Raise :class:`ConnectionNameTaken` when another account holds the name ``wanted``."""
        if not wanted:
            return
        holder = self.by_name(session, wanted)
        if holder is not None and holder is not row:
            raise ConnectionNameTaken(f"{wanted!r} already names {holder.username}")

    def member_organisation(self, session: Session, operator_id: str) -> str:
        """The organisation of the member ``operator_id`` (:class:`MemberUnknown` if gone)."""
        member = session.get(OperatorRow, operator_id)
        if member is None:
            raise MemberUnknown("the member this sign-in was started for no longer exists")
        return member.organisation_id

    def claim_for_member(self, session: Session, row: RowT | None, operator_id: str,
                         email: str) -> tuple[str, str]:
        """Check ``row`` (the account's existing connection, if any) may become the member's;
        returns the member's organisation and the name a new row takes.

        An account live for someone else (another member, or the CLI) is refused: its
        campaigns would silently book elsewhere. A disconnected one is taken over.
        """
        organisation_id = self.member_organisation(session, operator_id)
        owner = getattr(row, "operator_id", None) if row is not None else None
        if row is not None and owner != operator_id and row.status != "disconnected":
            whose = "another member" if owner is not None else "this server (the CLI)"
            raise AccountConnectedElsewhere(
                f"{row.username} is already connected for {whose}; nothing was changed")
        name = self.name(email)
        holder = self.by_name(session, name)
        if holder is not None and holder is not row:
            name = f"{name}-{operator_id[:8]}"  # names are server-wide: keep the member's apart
        return organisation_id, name

    def replaced_by(self, database: Database, operator_id: str,
                    keep_id: str) -> list[ConnectionT]:
        """The member's live connections of this provider made before ``keep_id`` (another
        account): a member books on one account per provider, the latest, so these are the
        ones it replaces. Empty when ``keep_id`` itself is no longer live (a later sign-in
        replaced it in turn: that one ends the rest)."""
        with database.session() as session:
            rows = self.member_rows(session, operator_id)
            ids = [row.id for row in rows]
            if keep_id not in ids:
                return []
            return [self._connection(row) for row in rows[ids.index(keep_id) + 1:]]

    def make_active(self, session: Session, operator_id: str) -> None:
        """This provider becomes the member's active one (the most recently connected is)."""
        make_active(session, operator_id, self.command)

    def member_rows(self, session: Session, operator_id: str) -> list[RowT]:
        """The member's connections of this provider that are not disconnected, newest first:
        the one booked on while an earlier account is still being replaced."""
        return list(session.scalars(select(self.row_type).where(
            self._column("operator_id") == operator_id,
            self._column("status") != "disconnected")
            .order_by(self._column("connected_at").desc())))

    def mark_needs_reconnect(self, database: Database, connection_id: str, reason: str) -> None:
        """Stop booking on the connection until the owner signs in again; ``reason`` is shown."""
        self._log.warning("%s connection %s needs reconnecting: %s", self.provider,
                          connection_id, reason)
        with database.session() as session:
            session.execute(update(self.row_type)
                            .where(self._column("id") == connection_id,
                                   self._column("status") == "connected")
                            .values(status="needs_reconnect", status_reason=reason,
                                    updated_at=datetime.now(UTC)))

    def forget_tokens(self, database: Database, name: str, *, hint: bool = True,
                      reason: str = DISCONNECTED) -> ConnectionT:
        """Delete the connection's tokens and mark it disconnected (``reason`` is shown)."""
        with database.session() as session:
            row = self.row(session, name, hint=hint)
            setattr(row, self._token_column, None)
            row.status, row.status_reason = "disconnected", reason
            session.flush()
            return self._connection(row)

    def stored_tokens(self, database: Database, config: HasTokenKey,
                      connection_id: str) -> tuple[str, TokenCipher]:
        """The decrypted tokens of a connected connection, and the cipher that read them.

        Raises :class:`CalendarUnavailable`: needing a reconnect when the connection is not
        connected (or gone); without marking it when the token key is missing or wrong.
        """
        with database.session() as session:
            row = session.get(self.row_type, connection_id)
            status = row.status if row is not None else "disconnected"
            blob = getattr(row, self._token_column) if row is not None else None
        if status != "connected" or blob is None:
            raise CalendarUnavailable(f"the {self.provider} connection is {status}",
                                      needs_reconnect=True)
        try:
            box = cipher(config)
            return box.decrypt(blob), box
        except (TokenKeyMissing, TokenKeyWrong) as exc:
            # A key problem is this process's configuration, not the account's: report it
            # without marking the connection.
            raise CalendarUnavailable(str(exc)) from None

    def save_tokens(self, database: Database, connection_id: str, blob: bytes) -> None:
        """Store refreshed (encrypted) tokens."""
        with database.session() as session:
            session.execute(update(self.row_type)
                            .where(self._column("id") == connection_id)
                            .values({self._token_column: blob,
                                     "refreshed_at": datetime.now(UTC)}))


def make_active(session: Session, operator_id: str, provider: str | None) -> None:
    """Record ``provider`` ("outlook", "google", ``None``) as the member's active one."""
    row = session.get(MemberCalendarRow, operator_id)
    if row is None:
        session.add(MemberCalendarRow(operator_id=operator_id, active_provider=provider,
                                      updated_at=datetime.now(UTC)))
    else:
        row.active_provider, row.updated_at = provider, datetime.now(UTC)


def pick_calendar(calendars: Iterable[CalendarT], previous: str | None,
                  main: Callable[[CalendarT], bool]) -> CalendarT:
    """The calendar to book on: the one used before, else the ``main`` one, else any editable."""
    editable = [c for c in calendars if c.can_edit]
    for wanted in (lambda c: c.id == previous, main, lambda c: True):
        found = next((c for c in editable if wanted(c)), None)
        if found is not None:
            return found
    raise CalendarUnavailable("this account has no calendar it can add events to")


class CachedTokens(TokenSource):
    """Access tokens for one connection, reused until close to their expiry.

    A provider says how to get a fresh one (:meth:`_fetch`).
    """

    def __init__(self, table: ConnectionTable[Any, Any], database: Database,
                 connection_id: str) -> None:
        self._table, self._database, self._connection_id = table, database, connection_id
        self._token: str | None = None
        self._good_until = 0.0

    async def access_token(self, *, force_refresh: bool = False) -> str:
        """A valid token: the one held while fresh, else the provider's (refreshed when due)."""
        if self._token and not force_refresh and time.monotonic() < self._good_until:
            return self._token
        token, valid_for = await self._fetch(force_refresh)
        self._token = token
        self._good_until = time.monotonic() + max(0.0, valid_for - EXPIRY_MARGIN_SECONDS)
        return token

    async def _fetch(self, force_refresh: bool) -> tuple[str, float]:
        """A token and the seconds it stays valid."""
        raise NotImplementedError

    async def consent_lost(self, reason: str) -> None:
        """The API refused the consent: mark the connection for reconnection."""
        await asyncio.to_thread(self._table.mark_needs_reconnect, self._database,
                                self._connection_id, reason)
