"""Claims a dead process left behind: confirmed if the calendar has the event, else released.

A booking is claimed in the database as ``pending`` before its calendar write, and
confirmed after it. A process killed in between leaves the claim pending: killed before
the write, the calendar has no event and the slot must be offered again; killed after it,
the event and its invitation exist and the booking must say so. Once a claim is older than
:data:`~calendar_backend.booking_store.WRITE_TIMEOUT` (no live process can still be writing
it, see :meth:`~calendar_backend.booking.BookingService.book`), the calendar is asked for
the event by the booking's idempotency key, and the claim is settled by the answer.

Entry points that book run :func:`settle_stale_claims` on start-up, and the call server runs
:func:`keep_claims_settled` in the background; which provider serves which calendar is the
application's wiring (``provider_for``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from calendar_backend.booking_store import WRITE_TIMEOUT, idempotency_key
from calendar_backend.provider import CalendarProvider, CalendarUnavailable
from calendar_backend.sql_store import SqlBookingStore, calendars_with_stale_claims
from storage.database import Database

__all__ = ["SETTLE_EVERY_SECONDS", "ProviderFor", "Settled", "keep_claims_settled",
           "settle_stale_claims"]

log = logging.getLogger(__name__)

# Half the write time-out: a claim abandoned by a dead process is settled (and its booking
# confirmed) within one and a half write time-outs; offers stop seeing it after one.
SETTLE_EVERY_SECONDS = WRITE_TIMEOUT.total_seconds() / 2
# The calendar a booking's ``calendar_id`` names, or ``None`` when it cannot be opened now
# (an Outlook connection needing reconnection, ...): its claims wait for the next round.
ProviderFor = Callable[[str], CalendarProvider | None]


@dataclass
class Settled:
    """What one reconciliation round did."""

    confirmed: int = 0
    released: int = 0
    postponed: int = 0


async def settle_stale_claims(
    database: Database, provider_for: ProviderFor, *, now: datetime | None = None
) -> Settled:
    """Settle every pending booking whose write time-out had passed at ``now``."""
    now = now or datetime.now(UTC)
    settled = Settled()
    for calendar_id in await asyncio.to_thread(calendars_with_stale_claims, database, now):
        store = SqlBookingStore(database, calendar_id)
        claims = await store.stale_claims(now)
        provider = await asyncio.to_thread(provider_for, calendar_id)
        if provider is None:
            log.warning("%d abandoned claim(s) on %s wait: the calendar cannot be opened",
                        len(claims), calendar_id)
            settled.postponed += len(claims)
            continue
        for claim in claims:
            try:
                event = await provider.find_event(
                    idempotency_key(claim.id), claim.slot.start, claim.slot.end)
            except CalendarUnavailable as exc:
                log.warning("abandoned claim %s waits: %s", claim.id, exc.reason)
                settled.postponed += 1
                continue
            if not await store.settle(claim.id, event, now):
                continue  # finished by its own process, or by another reconciler, meanwhile
            if event is not None:
                settled.confirmed += 1
                log.warning("confirmed booking %s: its process died after writing the event",
                            claim.id)
            else:
                settled.released += 1
                log.warning("released booking %s: its process died before writing the event",
                            claim.id)
    return settled


async def keep_claims_settled(
    database: Database, provider_for: ProviderFor, stop: asyncio.Event, *,
    every_seconds: float = SETTLE_EVERY_SECONDS,
) -> None:
    """The background task: settle abandoned claims now and every ``every_seconds``."""
    while not stop.is_set():
        try:
            await settle_stale_claims(database, provider_for)
        except Exception as exc:
            # A database or calendar outage must not end the task: the next round retries.
            log.error("settling abandoned claims failed (%s); retrying in %.0f s",
                      type(exc).__name__, every_seconds)
        try:
            await asyncio.wait_for(stop.wait(), timeout=every_seconds)
        except TimeoutError:
            continue
