"""Keeping bookings in line with Google: syncs on push notification (coalesced, in the
background) and on a schedule (the fallback when notifications cannot reach the server),
with the channels kept alive along the way (the loops themselves are
:mod:`calendar_backend.calendar_follow`, shared with Outlook)."""

from __future__ import annotations

from calendar_backend.calendar_follow import BackgroundSyncs, Follower, OnSynced
from calendar_backend.calendar_follow import FollowSettings as FollowSettings
from calendar_backend.google.channels import (
    Believed,
    PushHeaders,
    check_notification,
    ensure_channel,
)
from calendar_backend.google.config import GoogleConfig
from calendar_backend.google.connections import list_connections
from calendar_backend.google.sync import sync_calendar
from storage.database import Database

_follower: Follower[GoogleConfig] = Follower("Google", "channel", list_connections,
                                             sync_calendar, ensure_channel)

# The scheduled pass and the background task, under the names callers use.
follow_once = _follower.follow_once
keep_calendars_synced = _follower.keep_calendars_synced


class NotificationReceiver:
    """Turns checked notifications into background syncs."""

    def __init__(self, database: Database, config: GoogleConfig,
                 on_synced: OnSynced | None = None) -> None:
        self.database = database
        self._syncs = BackgroundSyncs(database, config, sync_calendar, on_synced)

    def receive(self, headers: PushHeaders) -> Believed:
        """Check the notification and start the sync it asks for; returns at once."""
        believed = check_notification(self.database, headers)
        if believed.sync is not None:
            self._syncs.start(believed.sync)
        return believed

    async def idle(self) -> None:
        """Wait for the syncs under way (tests and shutdown)."""
        await self._syncs.idle()
