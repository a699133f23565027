"""Settling requests that arrive together in one go (group commit for calls racing each other).

A lone request is handled at once. Requests arriving while a batch is being handled wait
and form the next batch, so when fifty callers confirm the same slot the database and the
calendar see a few round trips, not fifty — and nobody waits longer than one batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar
from weakref import WeakKeyDictionary

Request = TypeVar("Request")
Result = TypeVar("Result")


class Batches(Generic[Request, Result]):
    """A queue whose requests are handled a batch at a time, in arrival order.

    ``handle`` gets the batch and returns one result per request, in order; a result that
    is an exception is raised to that request's caller alone.
    """

    def __init__(
        self, handle: Callable[[list[Request]], Awaitable[list[Result | BaseException]]]
    ) -> None:
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
                    if future.done():  # its caller went away (the call ended)
                        continue
                    if isinstance(result, BaseException):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            self._task = None


_PER_LOOP: WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Hashable, Any]] = (
    WeakKeyDictionary()
)


def shared_batches(key: Hashable, make: Callable[[], Batches[Any, Any]]) -> Batches[Any, Any]:
    """The running event loop's queue for ``key``, made on first use."""
    queues = _PER_LOOP.setdefault(asyncio.get_running_loop(), {})
    found = queues.get(key)
    if found is None:
        found = queues[key] = make()
    return found
