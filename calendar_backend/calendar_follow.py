"""Keeping bookings in line with a provider's calendars (Outlook's and Google's alike): syncs on
notification (coalesced, in the background) and on a schedule (the fallback when notifications
cannot reach the server), with the provider's notifications (Graph subscriptions, Google
channels) kept alive along the way.

A provider builds one :class:`Follower` from its own sync and keep-alive, and its notification
receiver hands what it believed to :class:`BackgroundSyncs`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from calendar_backend.connections_common import ConnectionNotFound
from calendar_backend.owner_changes import SyncResult
from calendar_backend.provider import CalendarUnavailable
from calendar_backend.token_store import TokenKeyMissing, TokenKeyWrong
from storage.database import Database

log = logging.getLogger(__name__)

_EXPECTED = (CalendarUnavailable, ConnectionNotFound, TokenKeyMissing, TokenKeyWrong, OSError)
# Told what each sync did to bookings (the shell tells the operators' webhooks).
OnSynced = Callable[[SyncResult], None]
ConfigT = TypeVar("ConfigT")


class FollowedConnection(Protocol):
    """A provider's connection, as following it needs it."""

    @property
    def ref(self) -> str: ...

    @property
    def usable(self) -> bool: ...


def _synced(on_synced: OnSynced | None, result: SyncResult) -> None:
    if on_synced is None or not (result.cancelled or result.moved):
        return
    try:
        on_synced(result)
    except Exception:  # the bookings followed; telling about it must not undo the sync
        log.exception("announcing what the sync of %s changed failed", result.calendar_ref)


@dataclass(frozen=True)
class FollowSettings:
    """How a provider's calendars are followed: the scheduled sync's interval, and the public
    URL the provider notifies (``None``: no subscriptions or channels, the schedule alone)."""

    interval_seconds: float
    notification_url: str | None


class BackgroundSyncs(Generic[ConfigT]):
    """Syncs that notifications ask for, in the background: one per connection at a time,
    and one more after it if notifications came in meanwhile (bursts coalesce)."""

    def __init__(self, database: Database, config: ConfigT,
                 sync_calendar: Callable[[Database, ConfigT, str], Awaitable[SyncResult]],
                 on_synced: OnSynced | None = None) -> None:
        self.database, self.config, self.on_synced = database, config, on_synced
        self._sync_calendar = sync_calendar
        self._running: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()
        # What must run before the next sync of a connection (re-subscribing): kept until
        # it succeeds, even when it is asked for while a sync is already under way.
        self._first: dict[str, Callable[[], Awaitable[object]]] = {}

    def start(self, ref: str, first: Callable[[], Awaitable[object]] | None = None) -> None:
        """Sync ``ref`` now, or once more after the sync under way; ``first`` runs before
        that sync (and before later ones until it succeeds)."""
        if first is not None:
            self._first[ref] = first
        if ref in self._running and not self._running[ref].done():
            self._again.add(ref)
            return
        self._running[ref] = asyncio.create_task(self._follow(ref))

    async def _follow(self, ref: str) -> None:
        while True:
            self._again.discard(ref)
            first = self._first.pop(ref, None)
            try:
                if first is not None:
                    await first()
                    first = None
                result = await self._sync_calendar(self.database, self.config, ref)
                await asyncio.to_thread(_synced, self.on_synced, result)
            except _EXPECTED as exc:
                log.warning("sync of %s after a notification failed: %s", ref, exc)
            except Exception:
                # A background task: nobody else would ever see what went wrong.
                log.exception("sync of %s after a notification failed", ref)
            if first is not None:  # it failed: the next sync tries it again
                self._first.setdefault(ref, first)
            if ref not in self._again:
                return

    async def idle(self) -> None:
        """Wait for the syncs under way (tests and shutdown)."""
        while running := [t for t in self._running.values() if not t.done()]:
            await asyncio.gather(*running, return_exceptions=True)


class Follower(Generic[ConfigT]):
    """The scheduled following of one provider's calendars."""

    def __init__(self, provider: str, notifier: str,
                 list_connections: Callable[[Database], Sequence[FollowedConnection]],
                 sync_calendar: Callable[[Database, ConfigT, str], Awaitable[SyncResult]],
                 keep_alive: Callable[[Database, ConfigT, str, str], Awaitable[str]]) -> None:
        """``provider`` and ``notifier`` ("subscription", "channel") name them in the log;
        ``keep_alive(database, config, ref, url)`` makes sure ``url`` is notified."""
        self.provider, self.notifier = provider, notifier
        self._list_connections = list_connections
        self._sync_calendar = sync_calendar
        self._keep_alive = keep_alive

    async def follow_once(self, database: Database, config: ConfigT,
                          notification_url: str | None,
                          on_synced: OnSynced | None = None) -> None:
        """One scheduled pass: keep each usable connection's notifications alive, then sync
        it."""
        for connection in self._list_connections(database):
            if not connection.usable:
                continue
            if notification_url:
                try:
                    await self._keep_alive(database, config, connection.ref, notification_url)
                except _EXPECTED as exc:
                    log.warning("%s for %s: %s (the scheduled sync covers it)", self.notifier,
                                connection.ref, exc)
            try:
                result = await self._sync_calendar(database, config, connection.ref)
            except _EXPECTED as exc:
                log.warning("scheduled sync of %s failed: %s", connection.ref, exc)
                continue
            await asyncio.to_thread(_synced, on_synced, result)

    async def keep_calendars_synced(self, database: Database, config: ConfigT,
                                    settings: FollowSettings, stop: asyncio.Event, *,
                                    on_synced: OnSynced | None = None) -> None:
        """The background task: :meth:`follow_once` every ``settings.interval_seconds``."""
        while not stop.is_set():
            try:
                await self.follow_once(database, config, settings.notification_url, on_synced)
            except Exception:
                # The fallback must outlive a surprise: log it and try again next time.
                log.exception("scheduled %s sync failed", self.provider)
            try:
                await asyncio.wait_for(stop.wait(), timeout=settings.interval_seconds)
            except TimeoutError:
                continue
