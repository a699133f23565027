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
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from bench import _faults_common as common  # noqa: E402
from calendar_backend.booking import idempotency_key  # noqa: E402
from calendar_backend.booking_settings import BookingSettings  # noqa: E402
from calendar_backend.google.calendar import event_id  # noqa: E402
from calendar_backend.google.connections import open_calendar  # noqa: E402
from calendar_backend.google.sign_in import begin_sign_in, complete_sign_in  # noqa: E402
from calendar_backend.google.upkeep import sweep_failed_creates  # noqa: E402
from storage.database import Database  # noqa: E402
from tests.fakes.google import FaultPlan, GoogleEmulator  # noqa: E402
from tests.fakes.google.fixtures import settings_for  # noqa: E402

OWNER = "owner@gmail.com"



async def run(args: argparse.Namespace) -> int:
    emulator = GoogleEmulator().start()
    emulator.add_account(OWNER, time_zone="America/Los_Angeles")
    with common.bench_database(args, "google-bench-") as (database, workdir):
        config = settings_for(emulator, workdir).google()
        try:
            emulator.sign_in_as(OWNER)
            landed = httpx.get(await begin_sign_in(database, config)).headers["location"]
            ref = (await complete_sign_in(database, config, landed)).ref
            booking = common.bench_booking(ref)
            emulator.clear_log()
            emulator.set_faults(FaultPlan(rate=args.fault_rate, kinds=("429", "403", "403user"),
                                          lost_rate=args.lost_rate, seed=args.seed))
            outcomes, elapsed = await common.call_all(args, lambda n, rng: common.one_call(
                database, open_calendar(database, config, ref), ref, booking, n, rng))
            stray = len(emulator.events(OWNER))
            # After the calls, under the same faults: withdraw what failed inserts left behind.
            withdrawn = await sweep_failed_creates(database, config, settled_after=timedelta(0))
            print(f"upkeep sweep withdrew {withdrawn} event(s) of failed bookings "
                  f"({stray} events before the sweep)")
            emulator.set_faults(FaultPlan())
            return report(args, database, emulator, ref, booking, outcomes, elapsed)
        finally:
            emulator.stop()


def report(args: argparse.Namespace, database: Database, emulator: GoogleEmulator,
           ref: str, booking: BookingSettings, outcomes: Counter[str], elapsed: float) -> int:
    """Compare the calendar with the bookings table and print the figures."""
    records = common.booking_rows(database, booking, ref)
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


def main() -> None:
    """Parse the options and run the bench."""
    sys.exit(asyncio.run(run(common.options(__doc__.split("\n")[0], concurrency=8))))


if __name__ == "__main__":
    main()
