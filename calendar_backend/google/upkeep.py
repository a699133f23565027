"""Background upkeep: keep idle Google connections alive, withdraw events of failed creates.

Refreshing every connection's tokens regularly finds revoked grants before a call needs them
(the connection is then marked needs_reconnect) and keeps the calendar's zone current. The
sweep of :mod:`calendar_backend.failed_creates` finds events by their id, which the booking's
idempotency key decides.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from functools import partial

from calendar_backend import failed_creates
from calendar_backend.failed_creates import SETTLED_AFTER
from calendar_backend.google.config import GoogleConfig
from calendar_backend.google.connections import GOOGLE_PREFIX, open_calendar, refresh_all
from calendar_backend.token_store import TokenKeyMissing, TokenKeyWrong
from storage.database import Database

log = logging.getLogger(__name__)

REFRESH_EVERY_SECONDS = 6 * 3600


async def sweep_failed_creates(database: Database, config: GoogleConfig, *,
                               settled_after: timedelta = SETTLED_AFTER,
                               now: datetime | None = None) -> int:
    """Cancel events of failed Google bookings that settled; returns how many were found."""
    return await failed_creates.sweep_failed_creates(
        database, GOOGLE_PREFIX, partial(open_calendar, database, config, budget_seconds=10.0),
        settled_after=settled_after, now=now)


async def keep_connections_alive(database: Database, config: GoogleConfig, stop: asyncio.Event,
                                 *, every_seconds: float = REFRESH_EVERY_SECONDS) -> None:
    """The background task: refresh all connections and sweep, every ``every_seconds``."""
    while not stop.is_set():
        try:
            await refresh_all(database, config)
            await sweep_failed_creates(database, config)
        except (TokenKeyMissing, TokenKeyWrong, OSError) as exc:
            log.error("Google upkeep: %s", exc)
        try:
            await asyncio.wait_for(stop.wait(), timeout=every_seconds)
        except TimeoutError:
            continue
