"""Change-notification subscriptions: one per connected calendar, created, renewed before it
expires, and deleted when the connection is disconnected (its sync state and synced copy
go too); and the checks on what arrives at the notification URL.

Each subscription carries a random ``clientState`` secret; only its SHA-256 is stored. A
notification is believed only when it names a subscription we hold and its ``clientState``
hashes to the stored digest: a forged one changes nothing. What is believed only triggers a
delta sync (:mod:`calendar_backend.outlook.sync`), which reads the truth from Graph, so even
a replayed genuine notification costs one sync, never a wrong change.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from sqlalchemy import delete, select

from calendar_backend.connections_common import DISCONNECTED
from calendar_backend.outlook import connections
from calendar_backend.outlook.config import OutlookConfig
from calendar_backend.outlook.connections import (
    Connection,
    ConnectionTokens,
    find_connection,
    list_connections,
)
from calendar_backend.outlook.graph_client import GraphClient, GraphError
from calendar_backend.outlook.models import (
    NotificationBatch,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionRenewal,
)
from calendar_backend.provider import CalendarUnavailable
from storage.database import Database
from storage.outlook_sync_tables import OutlookSyncedEventRow, OutlookSyncStateRow

log = logging.getLogger(__name__)

# Asked-for lifetime: under the 4,230 minutes older documentation gave, so it holds whichever
# limit the tenant applies; renewed once less than RENEW_BEFORE is left.
LIFETIME = timedelta(minutes=4200)
RENEW_BEFORE = timedelta(hours=24)
CHANGE_TYPES = "created,updated,deleted"
_BUDGET = 15.0  # the handshake alone may take Graph up to 10 s
# An operator waits on a disconnect: Graph gets this long to delete the subscription.
_DISCONNECT_BUDGET = 5.0


def digest(client_state: str) -> str:
    """What is stored of a clientState secret."""
    return hashlib.sha256(client_state.encode()).hexdigest()


def _graph(database: Database, config: OutlookConfig, connection: Connection) -> GraphClient:
    return GraphClient(config.graph_base_url, ConnectionTokens(database, config, connection),
                       mailbox=connection.home_account_id, budget_seconds=_BUDGET,
                       request_timeout=12.0)


def _graph_time(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


async def ensure_subscription(database: Database, config: OutlookConfig, calendar_ref: str,
                              notification_url: str, *, now: datetime | None = None) -> str:
    """Make sure the connection's calendar has a live subscription notifying
    ``notification_url``: create it, or renew it when less than :data:`RENEW_BEFORE` is
    left. Returns ``"created"``, ``"renewed"`` or ``"kept"``.

    Raises :class:`CalendarUnavailable` when Graph refuses (e.g. the handshake failed: the
    URL is not reachable from Graph) or does not answer.
    """
    connection = find_connection(database, calendar_ref)
    if not connection.usable:
        raise CalendarUnavailable(f"{connection.ref} needs reconnecting", needs_reconnect=True)
    now = now or datetime.now(UTC)
    state = await database.run(_state, database, connection.id)
    graph = _graph(database, config, connection)
    if state is not None and state.subscription_id and state.subscription_expires_at \
            and state.client_state_sha256:
        if state.subscription_expires_at - now > RENEW_BEFORE:
            return "kept"
        renewed = await _renew(graph, state.subscription_id, now)
        if renewed is not None:
            await database.run(_save, database, connection.id, renewed.id, renewed.expires(),
                               state.client_state_sha256)
            return "renewed"
    secret = secrets.token_urlsafe(48)
    body = SubscriptionOut(
        change_type=CHANGE_TYPES, notification_url=notification_url,
        lifecycle_notification_url=notification_url,
        resource=f"me/calendars/{quote(connection.calendar_id, safe='')}/events",
        expiration_date_time=_graph_time(now + LIFETIME), client_state=secret)
    try:
        response = await graph.request("POST", "/subscriptions", json=body.graph(),
                                       retry_safe=False)
    except GraphError as exc:
        raise CalendarUnavailable(f"Graph refused the subscription ({exc.code}: "
                                  f"{exc.message})") from None
    created = SubscriptionIn.model_validate(response.json())
    await database.run(_save, database, connection.id, created.id, created.expires(),
                       digest(secret))
    log.info("subscribed to changes of %s until %s", connection.ref, created.expires())
    return "created"


async def _renew(graph: GraphClient, subscription_id: str,
                 now: datetime) -> SubscriptionIn | None:
    """The renewed subscription, or ``None`` when Graph no longer has it."""
    body = SubscriptionRenewal(expiration_date_time=_graph_time(now + LIFETIME))
    try:
        response = await graph.request("PATCH", f"/subscriptions/{quote(subscription_id)}",
                                       json=body.graph())
    except GraphError as exc:
        if exc.status == 404:
            return None
        raise CalendarUnavailable(f"Graph refused the renewal ({exc.code})") from None
    return SubscriptionIn.model_validate(response.json())


async def disconnect(database: Database, config: OutlookConfig, name: str,
                     reason: str = DISCONNECTED) -> Connection:
    """Disconnect the Outlook connection ``name`` and stop following its calendar: its
    subscription is deleted at Graph while the tokens still allow it, then the tokens go
    (:func:`~calendar_backend.outlook.connections.disconnect`, ``reason`` shown as its
    status), and so do its sync state and synced copy here.

    Deleting at Graph is best effort: when Graph refuses or does not answer, the reason is
    logged and the disconnect completes all the same (the subscription expires on its own,
    and what it still sends names a subscription we no longer hold: ignored).
    """
    connection = find_connection(database, name)
    state = await database.run(_state, database, connection.id)
    if state is not None and state.subscription_id:
        await _delete_at_graph(database, config, connection, state.subscription_id)
    gone = await database.run(connections.disconnect, database, connection.name, reason)
    await database.run(_forget, database, connection.id)
    return gone


async def _delete_at_graph(database: Database, config: OutlookConfig, connection: Connection,
                           subscription_id: str) -> None:
    try:
        await _graph(database, config, connection).request(
            "DELETE", f"/subscriptions/{quote(subscription_id)}",
            budget_seconds=_DISCONNECT_BUDGET)
    except GraphError as exc:
        if exc.status != 404:  # 404: Graph had already removed it
            log.warning("Graph did not delete the subscription of %s (HTTP %s %s); it "
                        "expires on its own", connection.ref, exc.status, exc.code)
    except CalendarUnavailable as exc:
        log.warning("Graph did not delete the subscription of %s (%s); it expires on its own",
                    connection.ref, exc.reason)


def _state(database: Database, connection_id: str) -> OutlookSyncStateRow | None:
    with database.session() as session:
        return session.get(OutlookSyncStateRow, connection_id)


def _save(database: Database, connection_id: str, subscription_id: str, expires: datetime,
          client_state_sha256: str) -> None:
    with database.session() as session:
        state = session.get(OutlookSyncStateRow, connection_id)
        if state is None:
            state = OutlookSyncStateRow(connection_id=connection_id)
            session.add(state)
        state.subscription_id, state.subscription_expires_at = subscription_id, expires
        state.client_state_sha256 = client_state_sha256


def _forget(database: Database, connection_id: str) -> None:
    """Remove the connection's sync state (with its subscription) and synced copy."""
    with database.session() as session:
        for rows in (OutlookSyncStateRow, OutlookSyncedEventRow):
            session.execute(delete(rows).where(rows.connection_id == connection_id))


@dataclass(frozen=True)
class Believed:
    """What a notification batch asks for, once checked: connections to sync, and
    subscriptions to renew or re-create (lifecycle notifications)."""

    sync: frozenset[str]  # connection refs
    resubscribe: frozenset[str]
    forged: int


def check_notifications(database: Database, batch: NotificationBatch) -> Believed:
    """Keep the notifications naming a subscription we hold with its ``clientState``; the
    others are counted as forged and ignored."""
    ids = sorted({n.subscription_id for n in batch.value})
    with database.session() as session:
        states = {s.subscription_id: s for s in session.scalars(
            select(OutlookSyncStateRow).where(OutlookSyncStateRow.subscription_id.in_(ids)))}
    refs = {c.id: c.ref for c in list_connections(database)}
    sync: set[str] = set()
    resubscribe: set[str] = set()
    forged = 0
    for note in batch.value:
        state = states.get(note.subscription_id)
        if state is None or state.client_state_sha256 is None or note.client_state is None \
                or not hmac.compare_digest(digest(note.client_state),
                                           state.client_state_sha256) \
                or state.connection_id not in refs:
            forged += 1
            continue
        ref = refs[state.connection_id]
        if note.lifecycle_event in ("reauthorizationRequired", "subscriptionRemoved"):
            resubscribe.add(ref)
        # Every believed notification (changes, "missed", and the lifecycle ones, after
        # which changes may have gone unnotified) leads to a sync.
        sync.add(ref)
    if forged:
        log.warning("ignored %d change notification(s) with an unknown subscription or a "
                    "wrong clientState", forged)
    return Believed(frozenset(sync), frozenset(resubscribe), forged)


async def resubscribe(database: Database, config: OutlookConfig, calendar_ref: str,
                      notification_url: str) -> str:
    """After ``reauthorizationRequired`` or ``subscriptionRemoved``: renew the subscription
    now, or create a new one if Graph removed it."""
    connection = find_connection(database, calendar_ref)
    await database.run(_expire_soon, database, connection.id)
    return await ensure_subscription(database, config, calendar_ref, notification_url)


def _expire_soon(database: Database, connection_id: str) -> None:
    # Makes the next ensure_subscription renew (or re-create, if Graph answers 404).
    with database.session() as session:
        state = session.get(OutlookSyncStateRow, connection_id)
        if state is not None and state.subscription_expires_at is not None:
            state.subscription_expires_at = datetime.now(UTC)
