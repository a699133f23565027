"""Busy time read from the synced copy of a booking calendar, when it is fresh enough.

A call's first availability read may come from here instead of a Graph calendarView
(``outlook_synced_fresh_seconds``): the copy is used only when the last sync is that recent,
followed the same calendar and covers the whole range asked about. Everything after that
first read (the re-check just before booking in particular) still asks Graph.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from calendar_backend.provider import BusyTime
from storage.database import Database
from storage.outlook_sync_tables import OutlookSyncedEventRow, OutlookSyncStateRow

# free and workingElsewhere leave the owner bookable (as in the calendarView read).
BLOCKING = frozenset({"busy", "tentative", "oof", "unknown"})


def fresh_busy_times(database: Database, connection_id: str, calendar_id: str,
                     max_age: timedelta, start: datetime,
                     end: datetime) -> list[BusyTime] | None:
    """Blocking events of the copy overlapping ``[start, end)``, or ``None`` when the copy
    is older than ``max_age``, of another calendar, or does not cover the range."""
    with database.session() as session:
        state = session.get(OutlookSyncStateRow, connection_id)
        if (state is None or state.synced_at is None or state.window_start is None
                or state.window_end is None or state.calendar_id != calendar_id
                or datetime.now(UTC) - state.synced_at > max_age
                or start < state.window_start or end > state.window_end):
            return None
        rows = session.scalars(select(OutlookSyncedEventRow).where(
            OutlookSyncedEventRow.connection_id == connection_id,
            OutlookSyncedEventRow.start < end, OutlookSyncedEventRow.end > start,
            OutlookSyncedEventRow.is_cancelled.is_(False),
        ).order_by(OutlookSyncedEventRow.start, OutlookSyncedEventRow.end)).all()
    return [BusyTime(start=r.start, end=r.end, show_as=r.show_as)  # type: ignore[arg-type]
            for r in rows if r.show_as in BLOCKING]
