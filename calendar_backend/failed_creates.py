"""Withdrawing the events of failed creates, for any provider whose adapter can find them.

A create can land at the calendar while every answer to it is lost and the live-call budget
runs out; the adapter then looks the event up once more, and if the calendar is still not
answering the booking is reported failed and its slot released. Such an event would block the
owner's calendar for a meeting nobody confirmed. Once the call is long over, the sweep finds
it by the booking's idempotency key and cancels it (the invitee gets the cancellation).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import select

from calendar_backend.booking import WITHDRAW_MESSAGE
from calendar_backend.provider import CalendarUnavailable, EventNotFound
from storage.booking_tables import BookingRow
from storage.database import Database

log = logging.getLogger(__name__)

# Older than any call: a call retrying its failed booking reuses it, so never sweep one
# whose call may still be on the line.
SETTLED_AFTER = timedelta(minutes=10)
LOOK_BACK = timedelta(days=1)


class Withdrawing(Protocol):
    """An adapter that can cancel the event a booking's key may have made."""

    async def withdraw(self, idempotency_key: str, start: datetime, end: datetime,
                       message: str) -> bool:
        """Cancel the event if it exists; True if it was found."""
        ...


async def cancel_found(event_id: str | None, cancel: Callable[[str, str], Awaitable[None]],
                       message: str) -> bool:
    """An adapter's :meth:`Withdrawing.withdraw` once it looked the event up: cancel it with
    ``message`` if found (``event_id`` None: not found); True if found."""
    if event_id is None:
        return False
    try:
        await cancel(event_id, message)
    except EventNotFound:
        pass  # gone already (e.g. a retried cancel whose first answer was lost)
    return True


def _failed(database: Database, prefix: str, since: datetime,
            until: datetime) -> list[BookingRow]:
    with database.session() as session:
        return list(session.scalars(select(BookingRow).where(
            BookingRow.status == "failed", BookingRow.calendar_id.like(f"{prefix}%"),
            BookingRow.updated_at >= since, BookingRow.updated_at <= until,
            BookingRow.idempotency_key.is_not(None))))


def _still_failed(database: Database, booking_id: str) -> bool:
    with database.session() as session:
        return session.scalar(select(BookingRow.status)
                              .where(BookingRow.id == booking_id)) == "failed"


async def sweep_failed_creates(database: Database, prefix: str,
                               open_calendar: Callable[[str], Withdrawing | None], *,
                               settled_after: timedelta = SETTLED_AFTER,
                               now: datetime | None = None) -> int:
    """Cancel events of settled failed bookings on calendars named ``prefix...``.

    ``open_calendar`` opens a calendar reference (``None`` while its connection is unusable;
    ``LookupError`` when it is unknown). Returns how many events were found and withdrawn.
    """
    now = now or datetime.now(UTC)
    withdrawn = 0
    for row in _failed(database, prefix, now - LOOK_BACK, now - settled_after):
        try:
            calendar = open_calendar(row.calendar_id)
        except LookupError:
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
