"""Syncs that change notifications ask for: one at a time per calendar, and what a
notification asks to run first (re-subscribing) is never dropped."""

from __future__ import annotations

import asyncio

from calendar_backend.calendar_follow import BackgroundSyncs
from calendar_backend.owner_changes import SyncResult
from calendar_backend.provider import CalendarUnavailable

REF = "outlook:adele@contoso.com"


class Calendar:
    """A calendar whose syncs wait until the test lets them finish, noting what ran."""

    def __init__(self) -> None:
        self.happened: list[str] = []
        self.release = asyncio.Event()
        self.resubscribe_fails = 0

    async def sync(self, database: object, config: object, ref: str) -> SyncResult:
        self.happened.append("sync")
        await self.release.wait()
        return SyncResult(calendar_ref=ref)

    async def resubscribe(self) -> None:
        self.happened.append("resubscribe")
        if self.resubscribe_fails:
            self.resubscribe_fails -= 1
            raise CalendarUnavailable("Graph is down")


async def test_a_resubscribe_asked_for_during_a_sync_runs_before_the_next_one() -> None:
    calendar = Calendar()
    syncs = BackgroundSyncs(None, None, calendar.sync)  # type: ignore[arg-type]
    syncs.start(REF)
    await asyncio.sleep(0)  # the first sync is under way
    syncs.start(REF, calendar.resubscribe)  # e.g. Graph's subscriptionRemoved
    calendar.release.set()
    await syncs.idle()
    assert calendar.happened == ["sync", "resubscribe", "sync"]


async def test_a_failed_resubscribe_is_tried_again_by_the_next_notification() -> None:
    calendar = Calendar()
    calendar.resubscribe_fails = 1
    calendar.release.set()
    syncs = BackgroundSyncs(None, None, calendar.sync)  # type: ignore[arg-type]
    syncs.start(REF, calendar.resubscribe)
    await syncs.idle()
    syncs.start(REF)
    await syncs.idle()
    assert calendar.happened == ["resubscribe", "resubscribe", "sync"]


async def test_notifications_during_a_sync_coalesce_into_one_more() -> None:
    calendar = Calendar()
    syncs = BackgroundSyncs(None, None, calendar.sync)  # type: ignore[arg-type]
    syncs.start(REF)
    await asyncio.sleep(0)
    for _ in range(5):
        syncs.start(REF)
    calendar.release.set()
    await syncs.idle()
    assert calendar.happened == ["sync", "sync"]
