"""Push-notification channels: one per connected Google calendar (``events.watch``), created,
replaced before it expires (Google channels cannot be renewed), and stopped when the
connection is disconnected (its sync state and synced copy go too); and the check on what
arrives at the notification URL.

Each channel carries a random token (``X-Goog-Channel-Token`` on every notification); only
its SHA-256 is stored. A notification is believed only when it names the channel we hold
for a connection, with that channel's resource id, and its token hashes to the stored
digest: a forged one changes nothing. What is believed only triggers a sync
(:mod:`calendar_backend.google.sync`), which reads the truth from Google, so even a replayed
genuine notification costs one sync, never a wrong change.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete, select

from calendar_backend.connections_common import DISCONNECTED
from calendar_backend.google import connections
from calendar_backend.google.api_client import CalendarApiClient, GoogleApiError
from calendar_backend.google.config import GoogleConfig
from calendar_backend.google.connections import (
    Connection,
    ConnectionTokens,
    find_connection,
    list_connections,
)
from calendar_backend.google.models import ChannelIn, ChannelOut, ChannelStop
from calendar_backend.provider import CalendarUnavailable
from storage.database import Database
from storage.google_sync_tables import GoogleSyncedEventRow, GoogleSyncStateRow

log = logging.getLogger(__name__)

# Asked-for lifetime (Google caps events channels at about a week); replaced once less than
# RENEW_BEFORE is left.
LIFETIME = timedelta(days=7)
RENEW_BEFORE = timedelta(days=1)
_BUDGET = 15.0
# An operator waits on a disconnect: Google gets this long to stop the channel.
_DISCONNECT_BUDGET = 5.0


class PushHeaders(BaseModel):
    """The ``X-Goog-*`` headers of a push notification (the body is empty)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, str_max_length=1024)

    channel_id: str = Field(alias="x-goog-channel-id", min_length=1, max_length=64)
    token: str | None = Field(None, alias="x-goog-channel-token", max_length=256)
    resource_state: str = Field(alias="x-goog-resource-state", max_length=32)
    resource_id: str = Field(alias="x-goog-resource-id", max_length=255)
    message_number: int | None = Field(None, alias="x-goog-message-number", ge=0)


def digest(token: str) -> str:
    """What is stored of a channel token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _api(database: Database, config: GoogleConfig, connection: Connection) -> CalendarApiClient:
    return CalendarApiClient(config.calendar_base_url,
                             ConnectionTokens(database, config, connection),
                             budget_seconds=_BUDGET, request_timeout=10.0)


async def ensure_channel(database: Database, config: GoogleConfig, calendar_ref: str,
                         address: str, *, now: datetime | None = None) -> str:
    """Make sure the connection's calendar has a live channel notifying ``address``: create
    it, or replace it when less than :data:`RENEW_BEFORE` is left (or it notifies another
    calendar). Returns ``"created"``, ``"renewed"`` or ``"kept"``.

    Raises :class:`CalendarUnavailable` when Google refuses or does not answer.
    """
    connection = find_connection(database, calendar_ref)
    if not connection.usable:
        raise CalendarUnavailable(f"{connection.ref} needs reconnecting", needs_reconnect=True)
    now = now or datetime.now(UTC)
    state = await database.run(_state, database, connection.id)
    api = _api(database, config, connection)
    old = state if state is not None and state.channel_id else None
    if old is not None and old.channel_expires_at is not None \
            and old.channel_expires_at - now > RENEW_BEFORE \
            and old.channel_calendar_id == connection.calendar_id:
        return "kept"
    token = secrets.token_urlsafe(48)
    body = ChannelOut(id=str(uuid.uuid4()), address=address, token=token,
                      expiration=str(int((now + LIFETIME).timestamp() * 1000)))
    path = f"/calendars/{quote(connection.calendar_id, safe='')}/events/watch"
    try:
        response = await api.request("POST", path, json=body.google())
    except GoogleApiError as exc:
        raise CalendarUnavailable(f"Google refused the channel ({exc.reason}: "
                                  f"{exc.message})") from None
    made = ChannelIn.model_validate(response.json())
    await database.run(_save, database, connection.id, made.id, made.resource_id,
                       connection.calendar_id, made.expires() or now + LIFETIME, digest(token))
    if old is not None and old.channel_id and old.channel_resource_id:
        # The old channel overlaps the new one until stopped; a notification on either
        # leads to the same sync.
        await _stop(api, old.channel_id, old.channel_resource_id, connection.ref)
    log.info("watching changes of %s until %s", connection.ref, made.expires())
    return "renewed" if old is not None else "created"


async def _stop(api: CalendarApiClient, channel_id: str, resource_id: str, ref: str, *,
                budget_seconds: float | None = None) -> None:
    """Stop the channel at Google, best effort: a channel left running expires on its own,
    and what it still sends names a channel we no longer hold (ignored)."""
    try:
        await api.request("POST", "/channels/stop", budget_seconds=budget_seconds,
                          json=ChannelStop(id=channel_id, resource_id=resource_id).google())
    except GoogleApiError as exc:
        if exc.status != 404:  # 404: Google had already dropped it
            log.warning("Google did not stop the channel of %s (HTTP %s %s); it expires on "
                        "its own", ref, exc.status, exc.reason)
    except CalendarUnavailable as exc:
        log.warning("Google did not stop the channel of %s (%s); it expires on its own", ref,
                    exc.reason)


async def disconnect(database: Database, config: GoogleConfig, name: str,
                     reason: str = DISCONNECTED) -> tuple[Connection, bool]:
    """Disconnect the Google connection ``name`` and stop following its calendar: its push
    channel is stopped at Google while the tokens still allow it, then the grant is revoked
    and the tokens go (:func:`~calendar_backend.google.connections.disconnect`, ``reason``
    shown as its status, whose answer this returns), and so do its sync state and synced
    copy here.

    Stopping the channel is best effort: when Google refuses or does not answer, the reason
    is logged and the disconnect completes all the same.
    """
    connection = find_connection(database, name)
    state = await database.run(_state, database, connection.id)
    if state is not None and state.channel_id and state.channel_resource_id:
        await _stop(_api(database, config, connection), state.channel_id,
                    state.channel_resource_id, connection.ref,
                    budget_seconds=_DISCONNECT_BUDGET)
    gone = await connections.disconnect(database, config, connection.name, reason)
    await database.run(_forget, database, connection.id)
    return gone


def _state(database: Database, connection_id: str) -> GoogleSyncStateRow | None:
    with database.session() as session:
        return session.get(GoogleSyncStateRow, connection_id)


def _save(database: Database, connection_id: str, channel_id: str, resource_id: str,
          calendar_id: str, expires: datetime, token_sha256: str) -> None:
    with database.session() as session:
        state = session.get(GoogleSyncStateRow, connection_id)
        if state is None:
            state = GoogleSyncStateRow(connection_id=connection_id)
            session.add(state)
        state.channel_id, state.channel_resource_id = channel_id, resource_id
        state.channel_calendar_id = calendar_id
        state.channel_expires_at, state.channel_token_sha256 = expires, token_sha256


def _forget(database: Database, connection_id: str) -> None:
    """Remove the connection's sync state (with its channel) and synced copy."""
    with database.session() as session:
        for rows in (GoogleSyncStateRow, GoogleSyncedEventRow):
            session.execute(delete(rows).where(rows.connection_id == connection_id))


@dataclass(frozen=True)
class Believed:
    """What a notification asks for, once checked: the connection to sync (``None``: a
    forged notification, or the channel's opening "sync" message)."""

    sync: str | None
    forged: bool


def check_notification(database: Database, headers: PushHeaders) -> Believed:
    """Believe the notification only if it names the channel we hold, its resource and its
    token; a forged one is counted and ignored."""
    with database.session() as session:
        state = session.scalars(select(GoogleSyncStateRow).where(
            GoogleSyncStateRow.channel_id == headers.channel_id)).first()
    refs = {c.id: c.ref for c in list_connections(database)}
    if state is None or state.channel_token_sha256 is None or headers.token is None \
            or state.channel_resource_id != headers.resource_id \
            or not hmac.compare_digest(digest(headers.token), state.channel_token_sha256) \
            or state.connection_id not in refs:
        log.warning("ignored a Google push notification with an unknown channel or a wrong "
                    "token")
        return Believed(None, True)
    if headers.resource_state == "sync":
        return Believed(None, False)  # the channel's first message: nothing changed yet
    return Believed(refs[state.connection_id], False)
