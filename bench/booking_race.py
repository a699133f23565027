"""Race benchmark: many callers confirm the same slot at once; count double bookings, time confirms.

    .venv/bin/python bench/booking_race.py --db postgresql://root@127.0.0.1:5432/test \\
        --callers 64 --trials 20
    .venv/bin/python bench/booking_race.py --db sqlite:///tmp/race.db --callers 64 --trials 20

Each trial runs on a calendar of its own: half the callers confirm 09:00, the rest 09:30
and 10:00, which reach into 09:00's ten-minute buffer or 09:30's. Every caller is a
separate BookingService (one per call, as in production) on the embedded local calendar,
having read availability as its call started; the timed part is ``book()`` alone. The
calls share one store and one calendar, batched (:mod:`calendar_backend.batching`) unless
``--no-batching`` is given. The run uses a fresh PostgreSQL schema or a fresh SQLite file
next to the given path, and removes it afterwards. The last line is
``double_bookings=<n> trials=<t> p50_ms=<x> p99_ms=<y>`` over every caller's confirm.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from calendar_backend.batching import BatchedCalendar, BatchedStore
from calendar_backend.booking import Booked, BookingResult, BookingService, BookingStore
from calendar_backend.booking_settings import BookingSettings, Recipient
from calendar_backend.local_calendar import LocalCalendar
from calendar_backend.provider import Attendee, CalendarProvider
from calendar_backend.sql_store import SqlBookingStore
from storage.database import Database, normalize_url, open_database

NOW = datetime(2030, 3, 4, 7, 0, tzinfo=UTC)  # a Monday, two hours before the window opens
NINE = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
SETTINGS = BookingSettings.model_validate({
    "enabled": True,
    "meeting_length_minutes": 30,
    "availability": {"timezone": "UTC", "start": "09:00", "end": "17:00"},
    "buffer_after_minutes": 10,
    "minimum_notice_minutes": 60,
    "look_ahead_days": 14,
    "meeting_type": "phone",
})
RECIPIENT = Recipient(first_name="Race", phone="+15551234567")
# Pairs of live bookings on one calendar whose blocked ranges overlap: must stay 0.
DOUBLE_BOOKINGS = text(
    "SELECT count(*) FROM bookings a JOIN bookings b"
    " ON a.calendar_id = b.calendar_id AND a.id < b.id"
    " AND a.blocked_start < b.blocked_end AND b.blocked_start < a.blocked_end"
    " WHERE a.status IN ('pending', 'confirmed', 'held')"
    " AND b.status IN ('pending', 'confirmed', 'held')"
)


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


@contextmanager
def fresh_database(url: str) -> Iterator[Database]:
    """A migrated, empty database for this run, removed afterwards."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "postgresql":
        database = open_database(url, schema=f"bench_{uuid.uuid4().hex[:12]}")
        try:
            yield database
        finally:
            database.drop_schema()
            database.dispose()
        return
    given = Path(parsed.database or "race.db")
    path = given.with_name(f"{given.stem}-{uuid.uuid4().hex[:8]}{given.suffix or '.db'}")
    database = open_database(f"sqlite:///{path}")
    try:
        yield database
    finally:
        database.dispose()
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)


async def caller(
    service: BookingService, start: datetime, index: int
) -> tuple[BookingResult, float]:
    """One call confirming ``start``; returns the result and the confirm time in ms."""
    began = time.perf_counter()
    result = await service.book(
        start=start, attendee=Attendee(email=f"caller{index}@example.com"),
        recipient=RECIPIENT, call_id=f"call-{index}", now=NOW,
    )
    return result, (time.perf_counter() - began) * 1000


async def start_calls(
    database: Database, calendar_id: str, count: int, batching: bool
) -> list[BookingService]:
    """``count`` calls on one calendar, each having read availability as it started."""
    local, sql = LocalCalendar(database, calendar_id), SqlBookingStore(database, calendar_id)
    calendar: CalendarProvider = BatchedCalendar(local) if batching else local
    store: BookingStore = BatchedStore(sql) if batching else sql
    services = [
        BookingService(store, calendar, SETTINGS, campaign_name="race") for _ in range(count)
    ]
    for service in services:
        await service.load_availability(NOW)
    return services


async def baseline(database: Database, runs: int, batching: bool) -> float:
    """Median confirm time of a single caller with nobody competing (ms)."""
    times = []
    for run in range(runs):
        [service] = await start_calls(database, f"baseline-{run}", 1, batching)
        result, elapsed = await caller(service, NINE, 0)
        if not isinstance(result, Booked):
            raise RuntimeError(f"uncontended confirm did not book: {result}")
        times.append(elapsed)
    return statistics.median(times)


async def race(
    database: Database, calendar_id: str, starts: list[datetime], batching: bool
) -> tuple[list[tuple[BookingResult, float]], float, float]:
    """One trial: a call per start, all confirming at once.

    Returns the outcomes, the wall time and this process's CPU time (all threads), in ms.
    """
    services = await start_calls(database, calendar_id, len(starts), batching)
    began, cpu = time.perf_counter(), time.process_time()
    outcomes = await asyncio.gather(
        *(caller(service, start, i)
          for i, (service, start) in enumerate(zip(services, starts, strict=True)))
    )
    return (list(outcomes), (time.perf_counter() - began) * 1000,
            (time.process_time() - cpu) * 1000)


async def run(url: str, callers: int, trials: int, batching: bool) -> int:
    """Run the trials; returns the number of double bookings found."""
    starts = [NINE + timedelta(minutes=30 * (0 if i % 2 == 0 else 1 + i % 4 // 2))
              for i in range(callers)]
    with fresh_database(url) as database:
        print(f"database: {database.dialect}, {callers} callers, {trials} trials,"
              f" batching {'on' if batching else 'off'}")
        # Warm the pool and the statement caches (a lone claim and a race), untimed.
        await baseline(database, 3, batching)
        await race(database, "warm-up", starts, batching)
        # As a long-running server does after start-up: the objects loaded so far (modules,
        # pools, caches) live for the whole process, so full collections need not rescan
        # them. Without this a full collection pauses the process for ~40 ms now and then.
        gc.collect()
        gc.freeze()
        alone = await baseline(database, 20, batching)
        print(f"baseline: uncontended confirm p50 {alone:.2f} ms")
        everything: list[float] = []
        for trial in range(trials):
            outcomes, wall, cpu = await race(database, f"race-{trial}", starts, batching)
            times = [elapsed for _, elapsed in outcomes]
            everything += times
            kinds = Counter(type(result).__name__ for result, _ in outcomes)
            print(
                f"trial {trial + 1:2d}: booked={kinds['Booked']} taken={kinds['SlotTaken']}"
                f" other={callers - kinds['Booked'] - kinds['SlotTaken']}"
                f" p50={percentile(times, 0.5):.1f}ms p99={percentile(times, 0.99):.1f}ms"
                f" max={max(times):.1f}ms wall={wall:.1f}ms cpu={cpu:.1f}ms"
            )
        with database.session() as session:
            doubles = int(session.execute(DOUBLE_BOOKINGS).scalar_one())
    p50, p99 = percentile(everything, 0.5), percentile(everything, 0.99)
    print(f"contended p50 {p50:.2f} ms = {p50 / alone:.1f}x baseline,"
          f" p99 {p99:.2f} ms = {p99 / alone:.1f}x baseline")
    print(f"double_bookings={doubles} trials={trials} p50_ms={p50:.2f} p99_ms={p99:.2f}")
    return doubles


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run; exit status 1 if anything was double-booked."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", required=True, help="postgresql://... or sqlite:///path")
    parser.add_argument("--callers", type=int, default=64)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--no-batching", action="store_true",
                        help="each call asks, claims and re-checks on its own")
    args = parser.parse_args(argv)
    if args.callers < 1 or args.trials < 1:
        parser.error("--callers and --trials must be at least 1")
    try:
        normalize_url(args.db)
    except ValueError as exc:
        parser.error(str(exc))
    doubles = asyncio.run(run(args.db, args.callers, args.trials, not args.no_batching))
    return 1 if doubles else 0


if __name__ == "__main__":
    sys.exit(main())
