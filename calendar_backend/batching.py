"""Optional batching layers: requests arriving together are handled in one go.

A lone request is handled at once. Requests arriving while a batch is being handled wait
and form the next batch, so when fifty callers confirm the same slot the database and the
calendar see a few round trips, not fifty — and nobody waits longer than one batch.

:class:`BatchedStore` wraps a booking store that answers asks and settles claims by the
list (:class:`~calendar_backend.sql_store.SqlBookingStore`); :class:`BatchedCalendar`
wraps a calendar shared by several calls, turning their re-checks into one busy read.
Neither changes an answer: a batch of claims is settled in arrival order, first claim
wins, exactly as one at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Generic, Protocol, TypeVar
from weakref import WeakKeyDictionary

from calendar_backend.booking_store import (
    BookingRecord,
    BookingStore,
    Claim,
    Question,
    Standing,
)
from calendar_backend.interval import Interval
from calendar_backend.provider import BusyTime, CalendarProvider, CreatedEvent, NewEvent
from calendar_backend.sql_store import SqlBookingStore
from storage.database import Database

Request = TypeVar("Request")
Result = TypeVar("Result")


class Batches(Generic[Request, Result]):
    """A queue whose requests are handled a batch at a time, in arrival order.

    ``handle`` gets the batch and returns one result per request, in order; if it raises,
    every request of that batch gets the error.
    """

    def __init__(self, handle: Callable[[list[Request]], Awaitable[Sequence[Result]]]) -> None:
        self._handle = handle
        self._queue: list[tuple[Request, asyncio.Future[Result]]] = []
        self._task: asyncio.Task[None] | None = None

    async def submit(self, request: Request) -> Result:
        """Queue ``request`` and wait for its result."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Result] = loop.create_future()
        self._queue.append((request, future))
        if self._task is None:
            self._task = loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                try:
                    results = await self._handle([request for request, _ in batch])
                except BaseException as exc:  # every waiter hears it, none hangs
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    if not isinstance(exc, Exception):
                        raise
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():  # else its caller went away (the call ended)
                        future.set_result(result)
        finally:
            self._task = None


class BatchableStore(BookingStore, Protocol):
    """A booking store that also answers asks, and settles claims, by the list."""

    async def ask_all(self, questions: Sequence[Question]) -> list[Standing]:
        """Answer the questions (one read), in order."""
        ...

    async def claim_all(self, claims: Sequence[Claim]) -> list[Standing | None]:
        """Settle the claims in order (one transaction): ``None`` for a winner, the
        standing of a loser."""
        ...


class BatchedStore:
    """A :class:`BookingStore` whose asks and claims arriving together go to ``store`` as
    one list each; everything else goes straight through."""

    def __init__(self, store: BatchableStore) -> None:
        self._store = store
        self._asks: Batches[Question, Standing] = Batches(store.ask_all)
        self._claims: Batches[Claim, Standing | None] = Batches(store.claim_all)

    @property
    def calendar_id(self) -> str:
        """The calendar whose bookings these are."""
        return self._store.calendar_id

    async def ask(self, question: Question) -> Standing:
        """Read where the asking call stands, with the questions asked alongside."""
        return await self._asks.submit(question)

    async def claim(self, claim: Claim) -> Standing | None:
        """Hold ``claim.blocked`` as ``pending`` (``None``) or hear where the call stands,
        settled with the claims made alongside."""
        return await self._claims.submit(claim)

    async def confirm(self, booking_id: str, event_id: str, url: str | None) -> bool:
        """The calendar has the event: the booking is confirmed (False if no longer pending)."""
        return await self._store.confirm(booking_id, event_id, url)

    async def fail(self, booking_id: str, reason: str) -> None:
        """The calendar write failed: the booking is failed and its slot released."""
        await self._store.fail(booking_id, reason)

    async def cancel(self, booking_id: str) -> None:
        """The event is cancelled: so is the booking, and its slot is released."""
        await self._store.cancel(booking_id)

    async def booking(self, booking_id: str) -> BookingRecord | None:
        """A booking of this calendar by id, or ``None``."""
        return await self._store.booking(booking_id)

    async def claim_move(self, booking: BookingRecord, slot: Interval, blocked: Interval) -> bool:
        """Move the booking's claim to ``slot``, holding its old range; False if taken."""
        return await self._store.claim_move(booking, slot, blocked)

    async def finish_move(self, booking_id: str, event_id: str, url: str | None) -> None:
        """The calendar moved the event: release the old range."""
        await self._store.finish_move(booking_id, event_id, url)

    async def undo_move(self, booking: BookingRecord) -> None:
        """The calendar refused the move: back to the old time."""
        await self._store.undo_move(booking)

    async def live_ranges(
        self, span: Interval, excluding: str | None = None
    ) -> tuple[Interval | None, list[Interval]]:
        """The excluded booking's slot, and the other live bookings' blocked ranges."""
        return await self._store.live_ranges(span, excluding)

    def records(self, call_id: str | None = None) -> list[BookingRecord]:
        """Bookings on this calendar (of one call, if given), by start time."""
        return self._store.records(call_id)


_SHARED: WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[Database, str], BatchedStore]] = (
    WeakKeyDictionary()
)


def shared_store(database: Database, calendar_id: str) -> BatchedStore:
    """The running event loop's batched store for ``calendar_id`` in ``database``, shared
    by every call booking on that calendar (so their claims can meet in one batch)."""
    stores = _SHARED.setdefault(asyncio.get_running_loop(), {})
    found = stores.get((database, calendar_id))
    if found is None:
        found = stores[(database, calendar_id)] = BatchedStore(
            SqlBookingStore(database, calendar_id)
        )
    return found


class BatchedCalendar:
    """A :class:`CalendarProvider` whose busy-time reads arriving together are one read over
    their span, each answered with what overlaps its own range; writes go straight through.

    It helps where several calls share one provider object, as the race benchmark does.
    """

    def __init__(self, provider: CalendarProvider) -> None:
        self._provider = provider
        self._reads: Batches[Interval, list[BusyTime]] = Batches(self._read_all)

    async def busy_times(self, start: datetime, end: datetime) -> list[BusyTime]:
        """Blocking time overlapping ``[start, end)``, read with the requests alongside."""
        return await self._reads.submit(Interval(start, end))

    async def _read_all(self, spans: list[Interval]) -> list[list[BusyTime]]:
        start, end = min(s.start for s in spans), max(s.end for s in spans)
        busy = await self._provider.busy_times(start, end)
        return [[b for b in busy if b.interval().overlaps(span)] for span in spans]

    async def create_event(self, event: NewEvent) -> CreatedEvent:
        """Create the event (idempotent by its key)."""
        return await self._provider.create_event(event)

    async def find_event(
        self, idempotency_key: str, start: datetime, end: datetime
    ) -> CreatedEvent | None:
        """The event a create with ``idempotency_key`` made, or ``None``."""
        return await self._provider.find_event(idempotency_key, start, end)

    async def move_event(self, event_id: str, start: datetime, end: datetime) -> CreatedEvent:
        """Move an event this project created."""
        return await self._provider.move_event(event_id, start, end)

    async def cancel_event(self, event_id: str, message: str) -> None:
        """Cancel an event, telling its attendees."""
        await self._provider.cancel_event(event_id, message)

    async def time_zone(self) -> str | None:
        """The calendar owner's zone, or ``None``."""
        return await self._provider.time_zone()

    async def can_add_online_meeting(self) -> bool:
        """Whether created events can carry an online-meeting link."""
        return await self._provider.can_add_online_meeting()
