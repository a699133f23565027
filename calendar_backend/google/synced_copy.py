"""Busy time read from the synced copy of a Google booking calendar, when it is fresh enough.

A call's first availability read may come from here instead of a freeBusy query
(``google_synced_fresh_seconds``): the copy is used only when the last sync is that recent,
followed the same calendar and covers the whole range asked about (incremental rounds carry
every change after the window's start). Everything after that first read (the re-check just
before booking in particular) still asks Google.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from calendar_backend.provider import BusyTime
from storage.database import Database
from storage.google_sync_tables import GoogleSyncedEventRow, GoogleSyncStateRow


def fresh_busy_times(database: Database, connection_id: str, calendar_id: str,
                     max_age: timedelta, start: datetime,
                     end: datetime) -> list[BusyTime] | None:
    """Busy events of the copy overlapping ``[start, end)`` (transparent and declined ones
    leave the owner free, as in freeBusy), or ``None`` when the copy is older than
    ``max_age``, of another calendar, or does not cover the range."""
    rows = GoogleSyncedEventRow
    with database.session() as session:
        state = session.get(GoogleSyncStateRow, connection_id)
        if (state is None or state.synced_at is None or state.window_start is None
                or state.calendar_id != calendar_id
                or datetime.now(UTC) - state.synced_at > max_age
                or start < state.window_start):
            return None
        found = session.scalars(select(rows).where(
            rows.connection_id == connection_id, rows.start < end, rows.end > start,
            rows.show_as == "busy").order_by(rows.start, rows.end)).all()
    return [BusyTime(start=r.start, end=r.end) for r in found]
