"""Requests arriving together are settled together; nobody waits for more than one batch."""

from __future__ import annotations

import asyncio

import pytest

from calendar_backend.batching import Batches, shared_batches


class Recorder:
    """A handler that records each batch and can be held open by the test."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.release = asyncio.Event()
        self.release.set()

    async def handle(self, requests: list[int]) -> list[int | BaseException]:
        self.batches.append(list(requests))
        await self.release.wait()
        return [ValueError(f"bad {r}") if r < 0 else r * 10 for r in requests]


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


async def test_one_requests_error_reaches_only_its_caller() -> None:
    batches = Batches(Recorder().handle)
    good, bad = await asyncio.gather(batches.submit(1), batches.submit(-1), return_exceptions=True)
    assert good == 10
    assert isinstance(bad, ValueError)


async def test_a_failing_handler_fails_that_batch_and_the_queue_goes_on() -> None:
    calls = 0

    async def flaky(requests: list[int]) -> list[int | BaseException]:
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


async def test_shared_queues_are_one_per_key_in_a_loop() -> None:
    def make() -> Batches[int, int]:
        return Batches(Recorder().handle)

    assert shared_batches(("k", 1), make) is shared_batches(("k", 1), make)
    assert shared_batches(("k", 1), make) is not shared_batches(("k", 2), make)
