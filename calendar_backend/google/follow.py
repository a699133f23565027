"""Keeping bookings in line with Google: syncs on push notification (coalesced, in the
background) and on a schedule (the fallback when notifications cannot reach the server),
with the channels kept alive along the way."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from calendar_backend.google.channels import (
    Believed,
    PushHeaders,
    check_notification,
    ensure_channel,
)
from calendar_backend.google.config import GoogleConfig
from calendar_backend.google.connections import ConnectionNotFound, list_connections
from calendar_backend.google.sync import sync_calendar
from calendar_backend.owner_changes import SyncResult
from calendar_backend.provider import CalendarUnavailable
from calendar_backend.token_store import TokenKeyMissing, TokenKeyWrong
from storage.database import Database

log = logging.getLogger(__name__)

_EXPECTED = (CalendarUnavailable, ConnectionNotFound, TokenKeyMissing, TokenKeyWrong, OSError)
# Told what each sync did to bookings (the shell tells the operators' webhooks).
OnSynced = Callable[[SyncResult], None]


def _synced(on_synced: OnSynced | None, result: SyncResult) -> None:
    if on_synced is None or not (result.cancelled or result.moved):
        return
    try:
        on_synced(result)
    except Exception:  # the bookings followed; telling about it must not undo the sync
        log.exception("announcing what the sync of %s changed failed", result.calendar_ref)


@dataclass(frozen=True)
class FollowSettings:
    """How Google calendars are followed: the scheduled sync's interval, and the public URL
    Google notifies (``None``: no channels, the schedule alone)."""

    interval_seconds: float
    notification_url: str | None


class NotificationReceiver:
    """Turns checked notifications into background syncs: one per connection at a time, and
    one more after it if notifications came in meanwhile (bursts coalesce)."""

    def __init__(self, database: Database, config: GoogleConfig,
                 on_synced: OnSynced | None = None) -> None:
        self.database, self.config, self.on_synced = database, config, on_synced
        self._running: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()

    def receive(self, headers: PushHeaders) -> Believed:
        """Check the notification and start the sync it asks for; returns at once."""
        believed = check_notification(self.database, headers)
        if believed.sync is not None:
            self._start(believed.sync)
        return believed

    def _start(self, ref: str) -> None:
        if ref in self._running and not self._running[ref].done():
            self._again.add(ref)
            return
        self._running[ref] = asyncio.create_task(self._follow(ref))

    async def _follow(self, ref: str) -> None:
        while True:
            self._again.discard(ref)
            try:
                result = await sync_calendar(self.database, self.config, ref)
                await asyncio.to_thread(_synced, self.on_synced, result)
            except _EXPECTED as exc:
                log.warning("sync of %s after a notification failed: %s", ref, exc)
            except Exception:
                # A background task: nobody else would ever see what went wrong.
                log.exception("sync of %s after a notification failed", ref)
            if ref not in self._again:
                return

    async def idle(self) -> None:
        """Wait for the syncs under way (tests and shutdown)."""
        while running := [t for t in self._running.values() if not t.done()]:
            await asyncio.gather(*running, return_exceptions=True)


async def follow_once(database: Database, config: GoogleConfig,
                      notification_url: str | None, on_synced: OnSynced | None = None) -> None:
    """One scheduled pass: keep each usable connection's channel alive, then sync it."""
    for connection in list_connections(database):
        if not connection.usable:
            continue
        if notification_url:
            try:
                await ensure_channel(database, config, connection.ref, notification_url)
            except _EXPECTED as exc:
                log.warning("channel for %s: %s (the scheduled sync covers it)",
                            connection.ref, exc)
        try:
            result = await sync_calendar(database, config, connection.ref)
        except _EXPECTED as exc:
            log.warning("scheduled sync of %s failed: %s", connection.ref, exc)
            continue
        await asyncio.to_thread(_synced, on_synced, result)


async def keep_calendars_synced(database: Database, config: GoogleConfig,
                                settings: FollowSettings, stop: asyncio.Event, *,
                                on_synced: OnSynced | None = None) -> None:
    """The background task: :func:`follow_once` every ``settings.interval_seconds``."""
    while not stop.is_set():
        try:
            await follow_once(database, config, settings.notification_url, on_synced)
        except Exception:
            # The fallback must outlive a surprise: log it and try again next time.
            log.exception("scheduled Google sync failed")
        try:
            await asyncio.wait_for(stop.wait(), timeout=settings.interval_seconds)
        except TimeoutError:
            continue
