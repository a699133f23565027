"""What the calendar fault benches share (``outlook_faults.py``, ``google_faults.py``): the
options, a throwaway database, the competing callers, and reading the bookings back."""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from calendar_backend.booking import Booked, BookingFailed, BookingService, SlotTaken
from calendar_backend.booking_settings import BookingSettings, Recipient
from calendar_backend.booking_store import BookingRecord
from calendar_backend.interval import Interval
from calendar_backend.provider import Attendee, CalendarProvider
from storage.database import Database, open_database

NOW = datetime(2030, 3, 4, 16, 0, tzinfo=UTC)  # Monday 08:00 in Los Angeles
ATTEMPTS = 10


def options(description: str, *, concurrency: int) -> argparse.Namespace:
    """The benches' command-line options."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--bookings", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=concurrency)
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--lost-rate", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    return parser.parse_args()


@contextmanager
def bench_database(args: argparse.Namespace, prefix: str) -> Iterator[tuple[Database, Path]]:
    """A fresh database (``--database-url`` or SQLite) and a scratch folder."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    # PostgreSQL: a throwaway schema, so the bench never touches anyone's tables.
    schema = f"bench_{uuid.uuid4().hex[:10]}" if url.startswith("postgres") else None
    database = open_database(url, schema=schema)
    try:
        yield database, workdir
    finally:
        if schema:
            database.drop_schema()
        database.dispose()


def bench_booking(ref: str) -> BookingSettings:
    """The campaign's booking settings: half-hour video meetings on ``ref``."""
    return BookingSettings(enabled=True, calendar=ref, meeting_length_minutes=30,
                           look_ahead_days=30, meeting_type="video")


async def call_all(args: argparse.Namespace,
                   one: Callable[[int, random.Random], Awaitable[str]]
                   ) -> tuple[Counter[str], float]:
    """``--bookings`` calls, ``--concurrency`` at a time: their outcomes and the seconds taken."""
    rng = random.Random(args.seed)
    gate = asyncio.Semaphore(args.concurrency)

    async def gated(n: int) -> str:
        async with gate:
            return await one(n, rng)

    started = time.monotonic()
    outcomes = Counter(await asyncio.gather(*(gated(n) for n in range(args.bookings))))
    return outcomes, time.monotonic() - started


async def one_call(database: Database, provider: CalendarProvider | None, ref: str,
                   booking: BookingSettings, n: int, rng: random.Random) -> str:
    """One caller: read availability once, pick a slot, book (alternatives if taken)."""
    assert provider is not None
    service = BookingService.on_database(database, provider, booking, calendar_id=ref,
                                         campaign_name="bench",
                                         calendar_zone=await provider.time_zone())
    try:
        await service.load_availability(NOW)
    except Exception:  # noqa: BLE001 (a call whose calendar is down books nothing)
        return "failed"
    # Each caller prefers a day ("how about the 12th?"); a few collide on the same day.
    day = NOW + timedelta(days=rng.randrange(21))
    wish = Interval(day, day + timedelta(days=1))
    slots = await service.free_slots(NOW, limit=3, within=wish) or \
        await service.free_slots(NOW, limit=3)
    if not slots:
        return "no_slot"
    start = rng.choice(slots).start  # callers pick among the first offers: they collide
    email = f"caller{n}@example.org"
    for _ in range(ATTEMPTS):
        result = await service.book(start=start, attendee=Attendee(email=email),
                                    recipient=Recipient(first_name=f"Caller {n}", email=email),
                                    call_id=f"call-{n}", now=NOW)
        if isinstance(result, Booked):
            return "confirmed"
        if isinstance(result, BookingFailed):
            return "failed"
        if isinstance(result, SlotTaken):
            # The agent offers what is free now (cached calendar + live bookings: no API).
            offers = await service.free_slots(NOW, limit=3, within=wish) or \
                result.alternatives
            if offers:
                start = rng.choice(offers).start
                continue
        return f"not_booked: {type(result).__name__} {getattr(result, 'reason', '')}".strip()
    return "not_booked: taken every time"


def booking_rows(database: Database, booking: BookingSettings,
                 ref: str) -> list[BookingRecord]:
    """Every booking the calls left in the table."""
    return BookingService.on_database(database, _NoCalendar(), booking, calendar_id=ref,
                                      campaign_name="bench", calendar_zone="UTC").bookings()


class _NoCalendar:
    """Reading the bookings table needs no calendar."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"the report does not touch the calendar ({name})")
