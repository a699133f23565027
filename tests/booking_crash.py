"""A booking process to kill: it books the first free slot and stops for good at a crash point.

    python -m tests.booking_crash --db URL [--schema S] --calendar local|outlook:NAME \
        --now 2030-03-04T07:00:00+00:00 --stop-at before-write|after-write

It books through the real :class:`~calendar_backend.booking.BookingService`, store and
calendar adapter (the embedded calendar, or an Outlook connection reached through the
``BOOKING_AGENT_*`` settings in its environment). The one test seam is its calendar port,
a delegating :class:`CalendarProvider` that stops at the chosen point: ``before-write``
once the slot is claimed and before the event is created, ``after-write`` once the
calendar has the event and before the booking is confirmed. There it prints one JSON line
(``{"stopped": ..., "start": ...}``) and waits to be killed (SIGKILL, by the test).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import datetime
from typing import Any

from app.bootstrap import calendar_for
from app.settings import Settings
from calendar_backend.booking import BookingService
from calendar_backend.booking_settings import BookingSettings, Recipient
from calendar_backend.provider import Attendee, CalendarProvider, CreatedEvent, NewEvent
from storage.database import Database

CALLER = Attendee(email="sam.caller@example.org", name="Sam Caller")
CRASH_POINTS = ("before-write", "after-write")


def booking_settings(calendar: str) -> BookingSettings:
    """What the crashing process and the tests inspecting its leftovers both book with."""
    return BookingSettings.model_validate({
        "enabled": True, "calendar": calendar, "meeting_length_minutes": 30,
        "availability": {"timezone": "UTC", "start": "09:00", "end": "17:00"},
        "minimum_notice_minutes": 60, "meeting_type": "video",
        "title_template": "Intro with {recipient.fullName}",
    })


class StopsAtCrashPoint:
    """A calendar port that stops the booking at ``stop_at`` and never returns from there."""

    def __init__(self, provider: CalendarProvider, stop_at: str) -> None:
        self._provider = provider
        self._stop_at = stop_at

    def __getattr__(self, name: str) -> Any:
        return getattr(self._provider, name)

    async def create_event(self, event: NewEvent) -> CreatedEvent:
        """Stop before the create, or right after it, until killed."""
        if self._stop_at == "after-write":
            await self._provider.create_event(event)
        print(json.dumps({"stopped": self._stop_at, "start": event.start.isoformat()}),
              flush=True)
        await asyncio.Event().wait()  # until SIGKILL
        raise AssertionError("unreachable")


async def book_and_stop(database: Database, calendar: str, now: datetime, stop_at: str) -> None:
    """Book the first free slot on ``calendar`` as a call would, stopping at ``stop_at``."""
    provider = calendar_for(calendar, database, Settings(), zone="UTC").provider
    if provider is None:
        raise SystemExit(f"calendar {calendar!r} cannot be opened")
    dying = StopsAtCrashPoint(provider, stop_at)
    service = BookingService.on_database(
        database, dying, booking_settings(calendar),  # type: ignore[arg-type]
        calendar_id=calendar, campaign_name="Crash test", calendar_zone="UTC")
    [slot] = await service.free_slots(now, limit=1)
    await service.book(start=slot.start, attendee=CALLER, now=now, call_id="crashing-call",
                       recipient=Recipient(first_name="Sam", last_name="Caller"))
    raise SystemExit("the booking finished: it was meant to stop at its crash point")


def main() -> None:
    """Parse the arguments and book until stopped."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--schema", default=None)
    parser.add_argument("--calendar", default="local")
    parser.add_argument("--now", required=True, type=datetime.fromisoformat)
    parser.add_argument("--stop-at", required=True, choices=CRASH_POINTS)
    args = parser.parse_args()
    database = Database(args.db, schema=args.schema)  # the test migrated it
    asyncio.run(book_and_stop(database, args.calendar, args.now, args.stop_at))


if __name__ == "__main__":
    main()
