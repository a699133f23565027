"""Race benchmark: many callers confirm the same slot at once; count double bookings, time confirms.

    .venv/bin/python bench/booking_race.py --db postgresql://root@127.0.0.1:5432/test \\
        --callers 64 --trials 20
    .venv/bin/python bench/booking_race.py --db sqlite:///tmp/race.db --callers 64 --trials 20
    .venv/bin/python bench/booking_race.py --db sqlite:///tmp/race.db --pool 3

Each trial runs on a calendar of its own: half the callers confirm 09:00, the rest 09:30
and 10:00, which reach into 09:00's ten-minute buffer or 09:30's. Every caller is a
separate BookingService (one per call, as in production) on the embedded local calendar,
having read availability as its call started; the timed part is ``book()`` alone. The
calls share one store and one calendar, batched (:mod:`calendar_backend.batching`) unless
``--no-batching`` is given. The run uses a fresh PostgreSQL schema or a fresh SQLite file
next to the given path, and removes it afterwards. The last line is
``double_bookings=<n> trials=<t> p50_ms=<x> p99_ms=<y>`` over every caller's confirm.

``--pool N`` books round-robin on a pool of N members (``a``, ``b``, ...), each on an
embedded local calendar of its own (:class:`~calendar_backend.pool.PoolBookingService`, one
per call): the same callers confirm the same times, and each is assigned the least recently
booked free member, falling to the next when another caller claimed that member first. The
members keep their calendars across trials (so the rotation carries over), each trial racing
a two-hour block of its own (at most 40 trials: the look-ahead's weekdays). The
run then also prints the double bookings per member calendar, and its last line ends with
``per_member=a:<n>,b:<n>,...``: the bookings each member got over all trials.
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
from calendar_backend.pool import MemberService, PoolBookingService
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
# The same, per pool member (each member books on calendars of its own).
MEMBER_DOUBLE_BOOKINGS = text(
    "SELECT a.member, count(b.id) FROM bookings a LEFT JOIN bookings b"
    " ON a.calendar_id = b.calendar_id AND a.id < b.id"
    " AND a.blocked_start < b.blocked_end AND b.blocked_start < a.blocked_end"
    " AND b.status IN ('pending', 'confirmed', 'held')"
    " WHERE a.status IN ('pending', 'confirmed', 'held') AND a.member IS NOT NULL"
    " GROUP BY a.member"
)
# Confirmed bookings per member, in the timed races only.
MEMBER_BOOKINGS = text(
    "SELECT member, count(*) FROM bookings WHERE status = 'confirmed'"
    " AND member IS NOT NULL AND calendar_id LIKE 'race-%' GROUP BY member"
)
Service = BookingService | PoolBookingService


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
    service: Service, start: datetime, index: int, call_prefix: str = "call"
) -> tuple[BookingResult, float]:
    """One call confirming ``start``; returns the result and the confirm time in ms."""
    began = time.perf_counter()
    result = await service.book(
        start=start, attendee=Attendee(email=f"caller{index}@example.com"),
        recipient=RECIPIENT, call_id=f"{call_prefix}-{index}", now=NOW,
    )
    return result, (time.perf_counter() - began) * 1000


def member_names(pool: int) -> list[str]:
    """The pool's members: ``a``, ``b``, ... (``aa``... past 26)."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    return [letters[i % 26] * (1 + i // 26) for i in range(pool)]


# A pool's trials race on the same calendars, each in a two-hour block of its own: four
# a day, on the weekdays of the look-ahead.
_BLOCKS_A_DAY = 4
MAX_POOL_TRIALS = _BLOCKS_A_DAY * 10


def pool_shift(trial: int) -> timedelta:
    """How far trial ``trial`` of a pool run is from Monday 09:00 (weekdays only)."""
    day = trial // _BLOCKS_A_DAY
    return timedelta(days=day + 2 * (day // 5), hours=2 * (trial % _BLOCKS_A_DAY))


def _shared(database: Database, calendar_id: str, batching: bool
            ) -> tuple[CalendarProvider, BookingStore]:
    """The calendar and the store every call on ``calendar_id`` shares."""
    local, sql = LocalCalendar(database, calendar_id), SqlBookingStore(database, calendar_id)
    calendar: CalendarProvider = BatchedCalendar(local) if batching else local
    store: BookingStore = BatchedStore(sql) if batching else sql
    return calendar, store


async def start_calls(
    database: Database, calendar_id: str, count: int, batching: bool, pool: int = 0
) -> list[Service]:
    """``count`` calls on one calendar (or on a pool of ``pool`` members' calendars named
    ``<calendar_id>-<member>``), each having read availability as it started."""
    services: list[Service]
    if pool:
        shared = {name: _shared(database, f"{calendar_id}-{name}", batching)
                  for name in member_names(pool)}
        services = [PoolBookingService(database, [
            MemberService(name, f"{calendar_id}-{name}", BookingService(
                store, calendar, SETTINGS, campaign_name="race", member=name))
            for name, (calendar, store) in shared.items()
        ], SETTINGS, campaign_name="race") for _ in range(count)]
    else:
        calendar, store = _shared(database, calendar_id, batching)
        services = [BookingService(store, calendar, SETTINGS, campaign_name="race")
                    for _ in range(count)]
    for service in services:
        await service.load_availability(NOW)
    return services


async def baseline(database: Database, runs: int, batching: bool, pool: int = 0) -> float:
    """Median confirm time of a single caller with nobody competing (ms)."""
    times = []
    for run in range(runs):
        [service] = await start_calls(database, f"baseline-{run}", 1, batching, pool)
        result, elapsed = await caller(service, NINE, 0)
        if not isinstance(result, Booked):
            raise RuntimeError(f"uncontended confirm did not book: {result}")
        times.append(elapsed)
    return statistics.median(times)


async def race(
    database: Database, calendar_id: str, starts: list[datetime], batching: bool,
    pool: int = 0, call_prefix: str = "call",
) -> tuple[list[tuple[BookingResult, float]], float, float]:
    """One trial: a call per start, all confirming at once (call ids ``<call_prefix>-<n>``).

    Returns the outcomes, the wall time and this process's CPU time (all threads), in ms.
    """
    services = await start_calls(database, calendar_id, len(starts), batching, pool)
    began, cpu = time.perf_counter(), time.process_time()
    outcomes = await asyncio.gather(
        *(caller(service, start, i, call_prefix)
          for i, (service, start) in enumerate(zip(services, starts, strict=True)))
    )
    return (list(outcomes), (time.perf_counter() - began) * 1000,
            (time.process_time() - cpu) * 1000)


async def run(url: str, callers: int, trials: int, batching: bool, pool: int = 0) -> int:
    """Run the trials; returns the number of double bookings found."""
    starts = [NINE + timedelta(minutes=30 * (0 if i % 2 == 0 else 1 + i % 4 // 2))
              for i in range(callers)]
    with fresh_database(url) as database:
        on_pool = f", a pool of {pool} members" if pool else ""
        print(f"database: {database.dialect}, {callers} callers, {trials} trials,"
              f" batching {'on' if batching else 'off'}{on_pool}")
        # Warm the pool and the statement caches (a lone claim and a race), untimed.
        await baseline(database, 3, batching, pool)
        await race(database, "warm-up", starts, batching, pool)
        # As a long-running server does after start-up: the objects loaded so far (modules,
        # pools, caches) live for the whole process, so full collections need not rescan
        # them. Without this a full collection pauses the process for ~40 ms now and then.
        gc.collect()
        gc.freeze()
        alone = await baseline(database, 20, batching, pool)
        print(f"baseline: uncontended confirm p50 {alone:.2f} ms")
        everything: list[float] = []
        for trial in range(trials):
            if pool:
                # The members keep their calendars from trial to trial (so who was booked
                # least recently carries over); each trial races two hours of its own.
                shift = pool_shift(trial)
                outcomes, wall, cpu = await race(
                    database, "race", [start + shift for start in starts], batching, pool,
                    call_prefix=f"call-{trial}")
            else:
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
            member_doubles = {m: n for m, n in session.execute(MEMBER_DOUBLE_BOOKINGS)}
            member_bookings = {m: n for m, n in session.execute(MEMBER_BOOKINGS)}
    p50, p99 = percentile(everything, 0.5), percentile(everything, 0.99)
    print(f"contended p50 {p50:.2f} ms = {p50 / alone:.1f}x baseline,"
          f" p99 {p99:.2f} ms = {p99 / alone:.1f}x baseline")
    last = f"double_bookings={doubles} trials={trials} p50_ms={p50:.2f} p99_ms={p99:.2f}"
    if pool:
        names = member_names(pool)
        print("double_bookings_per_member="
              + ",".join(f"{name}:{member_doubles.get(name, 0)}" for name in names))
        last += " per_member=" + ",".join(
            f"{name}:{member_bookings.get(name, 0)}" for name in names)
    print(last)
    return doubles


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run; exit status 1 if anything was double-booked."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", required=True, help="postgresql://... or sqlite:///path")
    parser.add_argument("--callers", type=int, default=64)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--no-batching", action="store_true",
                        help="each call asks, claims and re-checks on its own")
    parser.add_argument("--pool", type=int, default=0, metavar="N",
                        help="book round-robin on a pool of N members' calendars")
    args = parser.parse_args(argv)
    if args.callers < 1 or args.trials < 1:
        parser.error("--callers and --trials must be at least 1")
    if args.pool < 0:
        parser.error("--pool must be at least 1 (or left out)")
    if args.pool and args.trials > MAX_POOL_TRIALS:
        parser.error(f"--pool runs at most {MAX_POOL_TRIALS} trials (the look-ahead's weekdays)")
    try:
        normalize_url(args.db)
    except ValueError as exc:
        parser.error(str(exc))
    doubles = asyncio.run(run(args.db, args.callers, args.trials, not args.no_batching,
                              args.pool))
    return 1 if doubles else 0


if __name__ == "__main__":
    sys.exit(main())
