"""Requests arriving together are settled together; nobody waits for more than one batch.
The batching layers around a store and a calendar give the answers one at a time would."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

import pytest

from calendar_backend.batching import BatchedCalendar, BatchedStore, Batches, shared_store
from calendar_backend.booking_store import Claim, Question, Standing
from calendar_backend.interval import Interval
from calendar_backend.local_calendar import LocalCalendar
from calendar_backend.provider import BusyTime
from calendar_backend.sql_store import SqlBookingStore
from storage.booking_tables import BookingRow
from storage.database import Database
from tests.test_booking import MIN, NINE, NOW


class Recorder:
    """A handler that records each batch and can be held open by the test."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.release = asyncio.Event()
        self.release.set()

    async def handle(self, requests: list[int]) -> list[int]:
        self.batches.append(list(requests))
        await self.release.wait()
        return [r * 10 for r in requests]


async def test_a_lone_request_is_handled_at_once() -> None:
    recorder = Recorder()
    assert await Batches(recorder.handle).submit(3) == 30
    assert recorder.batches == [[3]]


async def test_requests_arriving_together_form_one_batch_in_order() -> None:
    recorder = Recorder()
    batches = Batches(recorder.handle)
    results = await asyncio.gather(*(batches.submit(i) for i in range(5)))
    assert results == [0, 10, 20, 30, 40]
    assert recorder.batches == [[0, 1, 2, 3, 4]]


async def test_requests_arriving_during_a_batch_wait_for_the_next_one() -> None:
    recorder = Recorder()
    recorder.release.clear()
    batches = Batches(recorder.handle)
    first = asyncio.create_task(batches.submit(1))
    await asyncio.sleep(0)
    later = [asyncio.create_task(batches.submit(i)) for i in (2, 3)]
    await asyncio.sleep(0)
    recorder.release.set()
    assert await first == 10 and [await t for t in later] == [20, 30]
    assert recorder.batches == [[1], [2, 3]]


async def test_a_failing_handler_fails_that_batch_and_the_queue_goes_on() -> None:
    calls = 0

    async def flaky(requests: list[int]) -> list[int]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("database went away")
        return list(requests)

    batches = Batches(flaky)
    with pytest.raises(RuntimeError):
        await batches.submit(1)
    assert await batches.submit(2) == 2


async def test_a_caller_that_gives_up_does_not_disturb_the_others() -> None:
    recorder = Recorder()
    recorder.release.clear()
    batches = Batches(recorder.handle)
    leaving = asyncio.create_task(batches.submit(1))
    staying = asyncio.create_task(batches.submit(2))
    await asyncio.sleep(0)
    leaving.cancel()
    recorder.release.set()
    assert await staying == 20
    with pytest.raises(asyncio.CancelledError):
        await leaving


class CountingStore(SqlBookingStore):
    """The database store, noting the size of every list of asks and claims it gets."""

    def __init__(self, database: Database) -> None:
        super().__init__(database, "local")
        self.asks: list[int] = []
        self.claims: list[int] = []

    async def ask_all(self, questions: Sequence[Question]) -> list[Standing]:
        self.asks.append(len(questions))
        return await super().ask_all(questions)

    async def claim_all(self, claims: Sequence[Claim]) -> list[Standing | None]:
        self.claims.append(len(claims))
        return await super().claim_all(claims)


def _claim(n: int, start: datetime = NINE) -> Claim:
    slot = Interval(start, start + 30 * MIN)
    return Claim(id=f"booking-{n}", call_id=f"call-{n}", campaign="c",
                 attendee_email=f"caller{n}@example.com", attendee_name=None, subject="s",
                 slot=slot, blocked=Interval(slot.start, slot.end + 10 * MIN),
                 span=Interval(NOW, NINE + 600 * MIN))


async def test_claims_arriving_together_are_settled_in_one_go_first_claim_wins(
    database: Database,
) -> None:
    inner = CountingStore(database)
    store = BatchedStore(inner)
    # 09:00 first, then two that overlap it, then 10:00, clear of it.
    claims = [_claim(0), _claim(1), _claim(2, NINE + 30 * MIN), _claim(3, NINE + 60 * MIN)]

    lost = await asyncio.gather(*(store.claim(c) for c in claims))

    assert [answer is None for answer in lost] == [True, False, False, True]
    # A loser hears who holds what with its refusal: the two winners' ranges.
    assert [len(answer.booked) for answer in lost if answer is not None] == [2, 2]
    assert inner.claims == [4]
    day = Interval(NOW, NINE + 600 * MIN)
    asked = await asyncio.gather(
        *(store.ask(Question(c.call_id, c.slot.start, c.attendee_email, day)) for c in claims)
    )
    assert inner.asks == [4]
    assert [a.existing.id if a.existing else None for a in asked] == [
        "booking-0", None, None, "booking-3"
    ]
    assert all(len(a.booked) == 2 for a in asked)


async def test_a_batch_is_settled_as_one_claim_after_another(database: Database) -> None:
    # A booking already in the database blocks 09:00 but not 09:30: one at a time, 09:00
    # loses to it, 09:30 wins, and 10:00 then loses to 09:30 (its buffer reaches 10:10).
    with database.session() as session:
        session.add(BookingRow(
            id="held", calendar_id="local", call_id="earlier", campaign="c",
            attendee_email="x@example.com", subject="s", start=NINE - 10 * MIN, end=NINE,
            blocked_start=NINE - 10 * MIN, blocked_end=NINE + 10 * MIN, status="confirmed",
        ))
    store = SqlBookingStore(database, "local")
    claims = [_claim(0), _claim(1, NINE + 30 * MIN), _claim(2, NINE + 60 * MIN)]

    lost = await store.claim_all(claims)

    assert [answer is None for answer in lost] == [False, True, False]


async def test_one_call_claiming_twice_in_one_batch_keeps_the_first(database: Database) -> None:
    store = BatchedStore(SqlBookingStore(database, "local"))
    first = _claim(0)
    second = replace(_claim(1, NINE + 120 * MIN), call_id=first.call_id)

    won, lost = await asyncio.gather(store.claim(first), store.claim(second))

    assert won is None
    assert lost is not None and lost.existing is not None and lost.existing.id == first.id


async def test_busy_reads_arriving_together_are_one_read(database: Database) -> None:
    class Counting(LocalCalendar):
        reads: int = 0

        async def busy_times(self, start: datetime, end: datetime) -> list[BusyTime]:
            self.reads += 1
            return await super().busy_times(start, end)

    local = Counting(database)
    local.add_busy(NINE, NINE + 30 * MIN)
    calendar = BatchedCalendar(local)

    first, second = await asyncio.gather(
        calendar.busy_times(NINE, NINE + 40 * MIN),
        calendar.busy_times(NINE + 60 * MIN, NINE + 100 * MIN),
    )

    assert local.reads == 1
    assert [b.start for b in first] == [NINE] and second == []


async def test_calls_on_one_calendar_share_one_batched_store(database: Database) -> None:
    assert shared_store(database, "a") is shared_store(database, "a")
    assert shared_store(database, "a") is not shared_store(database, "b")
