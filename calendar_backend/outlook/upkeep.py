"""Background upkeep: keep idle connections alive, withdraw events of failed creates.

Refreshing every connection's tokens regularly keeps idle refresh tokens from expiring and
finds revoked ones before a call needs them (the connection is then marked
needs_reconnect).

A create can land at Graph while every answer to it is lost and the live-call budget runs
out; the adapter then looks the event up once more, and if Graph is still not answering the
booking is reported failed and its slot released. Such an event would block the owner's
calendar for a meeting nobody confirmed. Once the call is long over, this sweep finds it by
its transactionId and cancels it (the invitee gets the cancellation).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from calendar_backend.outlook.config import OutlookConfig
from calendar_backend.outlook.connections import ConnectionNotFound, open_calendar, refresh_all
from calendar_backend.provider import CalendarUnavailable
from calendar_backend.token_store import TokenKeyMissing, TokenKeyWrong
from storage.booking_tables import BookingRow
from storage.database import Database

log = logging.getLogger(__name__)

# Older than any call: a call retrying its failed booking reuses it, so never sweep one
# whose call may still be on the line.
SETTLED_AFTER = timedelta(minutes=10)
LOOK_BACK = timedelta(days=1)
REFRESH_EVERY_SECONDS = 6 * 3600
WITHDRAW_MESSAGE = "This meeting could not be confirmed and has been withdrawn."


def _failed(database: Database, since: datetime, until: datetime) -> list[BookingRow]:
    with database.session() as session:
        return list(session.scalars(select(BookingRow).where(
            BookingRow.status == "failed", BookingRow.calendar_id.like("outlook:%"),
            BookingRow.updated_at >= since, BookingRow.updated_at <= until,
            BookingRow.idempotency_key.is_not(None))))


def _still_failed(database: Database, booking_id: str) -> bool:
    with database.session() as session:
        return session.scalar(select(BookingRow.status)
                              .where(BookingRow.id == booking_id)) == "failed"


async def sweep_failed_creates(database: Database, config: OutlookConfig, *,
                               settled_after: timedelta = SETTLED_AFTER,
                               now: datetime | None = None) -> int:
    """Cancel events of failed Outlook bookings that settled; returns how many were found."""
    now = now or datetime.now(UTC)
    withdrawn = 0
    for row in _failed(database, now - LOOK_BACK, now - settled_after):
        try:
            calendar = open_calendar(database, config, row.calendar_id, budget_seconds=10.0)
        except ConnectionNotFound:
            continue
        if calendar is None or not _still_failed(database, row.id):
            continue
        try:
            if await calendar.withdraw(row.idempotency_key, row.start, row.end,
                                       WITHDRAW_MESSAGE):
                withdrawn += 1
                log.warning("withdrew an unconfirmed event of failed booking %s", row.id)
        except CalendarUnavailable as exc:
            log.warning("sweep of booking %s postponed: %s", row.id, exc.reason)
    return withdrawn


async def keep_connections_alive(database: Database, config: OutlookConfig, stop: asyncio.Event, *,
                                 every_seconds: float = REFRESH_EVERY_SECONDS) -> None:
    """The background task: refresh all connections and sweep, every ``every_seconds``."""
    while not stop.is_set():
        try:
            await refresh_all(database, config)
            await sweep_failed_creates(database, config)
        except (TokenKeyMissing, TokenKeyWrong, OSError) as exc:
            log.error("Outlook upkeep: %s", exc)
        try:
            await asyncio.wait_for(stop.wait(), timeout=every_seconds)
        except TimeoutError:
            continue
