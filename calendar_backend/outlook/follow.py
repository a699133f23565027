"""Keeping bookings in line with Outlook: syncs on notification (coalesced, in the background)
and on a schedule (the fallback when notifications cannot reach the server), with the
subscriptions kept alive along the way (the loops themselves are
:mod:`calendar_backend.calendar_follow`, shared with Google)."""

from __future__ import annotations

from functools import partial

from calendar_backend.calendar_follow import (
    BackgroundSyncs,
    Follower,
    OnSynced,
)
from calendar_backend.calendar_follow import FollowSettings as FollowSettings
from calendar_backend.outlook.config import OutlookConfig
from calendar_backend.outlook.connections import list_connections
from calendar_backend.outlook.models import NotificationBatch
from calendar_backend.outlook.subscriptions import (
    Believed,
    check_notifications,
    ensure_subscription,
    resubscribe,
)
from calendar_backend.outlook.sync import sync_calendar
from storage.database import Database

_follower: Follower[OutlookConfig] = Follower("Outlook", "subscription", list_connections,
                                              sync_calendar, ensure_subscription)

# The scheduled pass and the background task, under the names callers use.
follow_once = _follower.follow_once
keep_calendars_synced = _follower.keep_calendars_synced


class NotificationReceiver:
    """Turns checked notifications into background syncs (renewing or re-creating the
    subscriptions that lifecycle notifications ask for first)."""

    def __init__(self, database: Database, config: OutlookConfig,
                 notification_url: str | None, on_synced: OnSynced | None = None) -> None:
        self.database, self.config, self.notification_url = database, config, notification_url
        self._syncs = BackgroundSyncs(database, config, sync_calendar, on_synced)

    def receive(self, batch: NotificationBatch) -> Believed:
        """Check the batch and start what it asks for; returns at once."""
        believed = check_notifications(self.database, batch)
        for ref in believed.sync:
            renew = partial(resubscribe, self.database, self.config, ref, self.notification_url) \
                if ref in believed.resubscribe and self.notification_url else None
            self._syncs.start(ref, renew)
        return believed

    async def idle(self) -> None:
        """Wait for the syncs under way (tests and shutdown)."""
        await self._syncs.idle()
