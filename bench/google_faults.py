"""Booking on Google Calendar under injected faults: each confirmed booking once, no orphans.

Runs the Google emulator, connects an account through the real sign-in (authlib + httpx), then
makes ``--bookings`` calls (``--concurrency`` at a time) through BookingService while
``--fault-rate`` of Calendar API requests are answered with a rate limit (429
``rateLimitExceeded``, 403 ``rateLimitExceeded`` or 403 ``userRateLimitExceeded``) and
``--lost-rate`` of writes are applied but their answer is lost (the connection drops
mid-response). Calls compete for slots on the day each prefers, so some get SlotTaken and
book an alternative.

After the calls the upkeep sweep withdraws events that inserts reported as failed may have
left (it only matters when faults outlast a call's budget). Then the calendar is compared
with the bookings table: each confirmed booking must have exactly one live event (its id is
derived from the booking's idempotency key) at its time, and no live event may exist that no
confirmed booking owns. The last line is machine-readable (one line)::

    bookings=<n> confirmed=<n> exactly_once=<n> duplicates=<n> orphans=<n>
    requests_per_booking=<x>

Usage: .venv/bin/python bench/google_faults.py [--bookings 200] [--concurrency 8]
       [--fault-rate 0.2] [--lost-rate 0.05] [--seed 7] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from calendar_backend.booking import (  # noqa: E402
    Booked,
    BookingFailed,
    BookingService,
    SlotTaken,
    idempotency_key,
)
from calendar_backend.booking_settings import BookingSettings, Recipient  # noqa: E402
from calendar_backend.google.calendar import event_id  # noqa: E402
from calendar_backend.google.config import GoogleConfig  # noqa: E402
from calendar_backend.google.connections import open_calendar  # noqa: E402
from calendar_backend.google.sign_in import begin_sign_in, complete_sign_in  # noqa: E402
from calendar_backend.google.upkeep import sweep_failed_creates  # noqa: E402
from calendar_backend.interval import Interval  # noqa: E402
from calendar_backend.provider import Attendee  # noqa: E402
from storage.database import Database, open_database  # noqa: E402
from tests.fakes.google import FaultPlan, GoogleEmulator  # noqa: E402
from tests.fakes.google.fixtures import settings_for  # noqa: E402

OWNER = "owner@gmail.com"
NOW = datetime(2030, 3, 4, 16, 0, tzinfo=UTC)  # Monday 08:00 in Los Angeles
ATTEMPTS = 10


async def one_call(database: Database, config: GoogleConfig, ref: str, booking: BookingSettings,
                   n: int, rng: random.Random) -> str:
    """One caller: read availability once, pick a slot, book (alternatives if taken)."""
    provider = open_calendar(database, config, ref)
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
            offers = await service.free_slots(NOW, limit=3, within=wish) or \
                result.alternatives
            if offers:
                start = rng.choice(offers).start
                continue
        return f"not_booked: {type(result).__name__} {getattr(result, 'reason', '')}".strip()
    return "not_booked: taken every time"


async def run(args: argparse.Namespace) -> int:
    emulator = GoogleEmulator().start()
    emulator.add_account(OWNER, time_zone="America/Los_Angeles")
    workdir = Path(tempfile.mkdtemp(prefix="google-bench-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    # PostgreSQL: a throwaway schema, so the bench never touches anyone's tables.
    schema = f"bench_{uuid.uuid4().hex[:10]}" if url.startswith("postgres") else None
    database = open_database(url, schema=schema)
    config = settings_for(emulator, workdir).google()
    try:
        emulator.sign_in_as(OWNER)
        landed = httpx.get(await begin_sign_in(database, config)).headers["location"]
        ref = (await complete_sign_in(database, config, landed)).ref
        booking = BookingSettings(enabled=True, calendar=ref, meeting_length_minutes=30,
                                  look_ahead_days=30, meeting_type="video")
        emulator.clear_log()
        emulator.set_faults(FaultPlan(rate=args.fault_rate, kinds=("429", "403", "403user"),
                                      lost_rate=args.lost_rate, seed=args.seed))
        rng = random.Random(args.seed)
        gate = asyncio.Semaphore(args.concurrency)

        async def gated(n: int) -> str:
            async with gate:
                return await one_call(database, config, ref, booking, n, rng)

        started = time.monotonic()
        outcomes = Counter(await asyncio.gather(*(gated(n) for n in range(args.bookings))))
        elapsed = time.monotonic() - started
        stray = len(emulator.events(OWNER))
        # After the calls, under the same faults: withdraw what failed inserts left behind.
        withdrawn = await sweep_failed_creates(database, config, settled_after=timedelta(0))
        print(f"upkeep sweep withdrew {withdrawn} event(s) of failed bookings "
              f"({stray} events before the sweep)")
        emulator.set_faults(FaultPlan())
        return report(args, database, emulator, ref, booking, outcomes, elapsed)
    finally:
        emulator.stop()
        if schema:
            database.drop_schema()
        database.dispose()


def report(args: argparse.Namespace, database: Database, emulator: GoogleEmulator,
           ref: str, booking: BookingSettings, outcomes: Counter[str], elapsed: float) -> int:
    """Compare the calendar with the bookings table and print the figures."""
    service_view = BookingService.on_database(database, _NoCalendar(), booking, calendar_id=ref,
                                              campaign_name="bench", calendar_zone="UTC")
    records = service_view.bookings()
    confirmed = [r for r in records if r.status == "confirmed"]
    failed = [r for r in records if r.status == "failed"]
    live = emulator.events(OWNER)
    by_id = Counter(e.id for e in live)
    # An event per booking: its id is derived from the booking, so a second one would need a
    # second id; count live events carrying a booking's caller under any other id too.
    by_caller = Counter(e.data["attendees"][0]["email"] for e in live if e.data.get("attendees"))
    exactly_once = sum(
        1 for r in confirmed
        if by_id[event_id(idempotency_key(r.id))] == 1 and r.event_id == event_id(
            idempotency_key(r.id))
        and any(e.id == r.event_id and e.start == r.slot.start for e in live)
    )
    callers = {r.call_id: r for r in confirmed}
    duplicates = sum(max(0, count - 1) for count in by_caller.values())
    known = {event_id(idempotency_key(r.id)) for r in confirmed}
    orphans = sum(1 for e in live if e.id not in known)
    failed_with_event = sum(1 for r in failed if by_id[event_id(idempotency_key(r.id))])
    requests = emulator.requests()
    statuses = Counter(r.status for r in requests)
    kinds = Counter("freeBusy" if r.path == "/freeBusy" else r.method for r in requests)
    print(f"outcomes: {dict(outcomes)}; booking rows: "
          f"{dict(Counter(r.status for r in records))}; {len(callers)} callers booked; "
          f"{elapsed:.1f} s")
    print(f"calendar responses by status: {dict(sorted(statuses.items()))}")
    print(f"calendar requests by kind: {dict(kinds)}")
    print(f"faults by reason: {dict(Counter(r.reason for r in requests if r.reason))}")
    print(f"failed bookings with an event: {failed_with_event}")
    per_booking = len(requests) / max(1, args.bookings)
    print(f"bookings={args.bookings} confirmed={len(confirmed)} exactly_once={exactly_once} "
          f"duplicates={duplicates} orphans={orphans} "
          f"requests_per_booking={per_booking:.2f}")
    ok = exactly_once == len(confirmed) and duplicates == 0 and orphans == 0 \
        and failed_with_event == 0 and len(confirmed) == outcomes["confirmed"]
    return 0 if ok else 1


class _NoCalendar:
    """Reading the bookings table needs no calendar."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"the report does not touch the calendar ({name})")


def main() -> None:
    """Parse the options and run the bench."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bookings", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--lost-rate", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    sys.exit(asyncio.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()
