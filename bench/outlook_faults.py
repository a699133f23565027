"""Booking on Outlook under injected Graph faults: every confirmed booking exactly once, no orphans.

Runs the Microsoft emulator, connects a work account through the real sign-in (msal + httpx),
then makes ``--bookings`` calls (``--concurrency`` at a time) through BookingService while
``--fault-rate`` of Graph requests are answered 429 or 503 with a fractional Retry-After and
``--lost-rate`` of writes are applied but answered 504 (the response "lost"). Calls compete
for slots on the day each prefers, so some get SlotTaken and book an alternative.

After the calls the upkeep sweep withdraws events that creates reported as failed may have
left (it only matters when faults outlast a call's budget). Then the calendar is compared
with the bookings table: each confirmed booking must have exactly one event (found by its
transactionId, at its time) and no event may exist for a booking reported as failed.
The last line is machine-readable (one line)::

    bookings=<n> confirmed=<n> exactly_once=<n> duplicates=<n> orphans=<n>
    graph_requests_per_booking=<x> early_retries=<n>

``early_retries`` counts requests sent to the mailbox inside a ``Retry-After`` window the
client had already read (Graph counts those against the app; see the emulator's
``early_retries``): it must be 0, with ``--concurrency`` (default 16) bookings in flight on the
one mailbox.

Usage: .venv/bin/python bench/outlook_faults.py [--bookings 200] [--concurrency 16]
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
from cryptography.fernet import Fernet  # noqa: E402

from app.settings import Settings  # noqa: E402
from calendar_backend.booking import (  # noqa: E402
    Booked,
    BookingFailed,
    BookingService,
    SlotTaken,
    idempotency_key,
)
from calendar_backend.booking_settings import BookingSettings, Recipient  # noqa: E402
from calendar_backend.interval import Interval  # noqa: E402
from calendar_backend.outlook.calendar import transaction_id  # noqa: E402
from calendar_backend.outlook.connections import open_calendar  # noqa: E402
from calendar_backend.outlook.sign_in import begin_sign_in, complete_sign_in  # noqa: E402
from calendar_backend.outlook.upkeep import sweep_failed_creates  # noqa: E402
from calendar_backend.provider import Attendee  # noqa: E402
from storage.database import Database, open_database  # noqa: E402
from tests.fakes.microsoft import FaultPlan, MicrosoftEmulator  # noqa: E402

OWNER = "owner@contoso.com"
NOW = datetime(2030, 3, 4, 16, 0, tzinfo=UTC)  # Monday 08:00 in Los Angeles
ATTEMPTS = 10


async def one_call(database: Database, settings: Settings, ref: str, booking: BookingSettings,
                   n: int, rng: random.Random) -> str:
    """One caller: read availability once, pick a slot, book (alternatives if taken)."""
    provider = open_calendar(database, settings.outlook(), ref)
    assert provider is not None
    service = BookingService.on_database(database, provider, booking, calendar_id=ref,
                             campaign_name="bench", calendar_zone=await provider.time_zone())
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
            # The agent offers what is free now (cached calendar + live bookings: no Graph).
            offers = await service.free_slots(NOW, limit=3, within=wish) or \
                result.alternatives
            if offers:
                start = rng.choice(offers).start
                continue
        return f"not_booked: {type(result).__name__} {getattr(result, 'reason', '')}".strip()
    return "not_booked: taken every time"


async def run(args: argparse.Namespace) -> int:
    emulator = MicrosoftEmulator().start()
    emulator.add_account(OWNER, time_zone="Pacific Standard Time")
    workdir = Path(tempfile.mkdtemp(prefix="outlook-bench-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    # PostgreSQL: a throwaway schema, so the bench never touches anyone's tables.
    schema = f"bench_{uuid.uuid4().hex[:10]}" if url.startswith("postgres") else None
    database = open_database(url, schema=schema)
    settings = Settings(
        _env_file=None, data_dir=workdir, token_key=Fernet.generate_key().decode(),
        graph_base_url=emulator.graph_base_url, microsoft_login_url=emulator.login_url,
        microsoft_client_id=emulator.client_id, microsoft_client_secret=emulator.client_secret,
    )
    try:
        emulator.sign_in_as(OWNER)
        landed = httpx.get(begin_sign_in(database, settings.outlook())).headers["location"]
        ref = (await complete_sign_in(database, settings.outlook(), landed)).ref
        booking = BookingSettings(enabled=True, calendar=ref, meeting_length_minutes=30,
                                  look_ahead_days=30, meeting_type="video")
        emulator.clear_log()
        emulator.set_faults(FaultPlan(rate=args.fault_rate, statuses=(429, 503),
                                      retry_after=(0.05, 0.3), lost_rate=args.lost_rate,
                                      seed=args.seed))
        rng = random.Random(args.seed)
        gate = asyncio.Semaphore(args.concurrency)

        async def gated(n: int) -> str:
            async with gate:
                return await one_call(database, settings, ref, booking, n, rng)

        started = time.monotonic()
        outcomes = Counter(await asyncio.gather(*(gated(n) for n in range(args.bookings))))
        elapsed = time.monotonic() - started
        stray = len(emulator.events(OWNER))
        # After the calls, under the same faults: withdraw what failed creates left behind.
        withdrawn = await sweep_failed_creates(
            database, settings.outlook(), settled_after=timedelta(0))
        print(f"upkeep sweep withdrew {withdrawn} event(s) of failed bookings "
              f"({stray} events before the sweep)")
        emulator.set_faults(FaultPlan())
        return report(args, database, emulator, ref, booking, outcomes, elapsed)
    finally:
        emulator.stop()
        if schema:
            database.drop_schema()
        database.dispose()


def report(args: argparse.Namespace, database: Database, emulator: MicrosoftEmulator,
           ref: str, booking: BookingSettings, outcomes: Counter[str], elapsed: float) -> int:
    """Compare the calendar with the bookings table and print the figures."""
    service_view = BookingService.on_database(database, _NoCalendar(), booking, calendar_id=ref,
                                  campaign_name="bench", calendar_zone="UTC")
    records = service_view.bookings()
    confirmed = [r for r in records if r.status == "confirmed"]
    failed = [r for r in records if r.status == "failed"]
    events = emulator.events(OWNER)
    by_txid = Counter(e.data.get("transactionId") for e in events)
    exactly_once = sum(
        1 for r in confirmed
        if by_txid[transaction_id(idempotency_key(r.id))] == 1
        and any(e.id == r.event_id and e.start == r.slot.start for e in events)
    )
    duplicates = sum(max(0, by_txid[transaction_id(idempotency_key(r.id))] - 1)
                     for r in confirmed)
    known = {transaction_id(idempotency_key(r.id)) for r in confirmed}
    orphans = sum(count for txid, count in by_txid.items() if txid not in known)
    failed_with_event = sum(1 for r in failed
                            if by_txid[transaction_id(idempotency_key(r.id))])
    requests = emulator.requests("graph")
    statuses = Counter(r.status for r in requests)
    codes = Counter(r.path.split("/")[-1] if r.method == "GET" else r.method for r in requests)
    print(f"outcomes: {dict(outcomes)}; booking rows: "
          f"{dict(Counter(r.status for r in records))}; {elapsed:.1f} s")
    print(f"graph responses by status: {dict(sorted(statuses.items()))}")
    print(f"graph requests by kind: {dict(codes)}")
    print(f"graph errors by code: {dict(Counter(r.code for r in requests if r.code))}")
    print(f"failed bookings with an event: {failed_with_event}")
    per_booking = len(requests) / max(1, args.bookings)
    early = len(emulator.early_retries(OWNER))
    print(f"bookings={args.bookings} confirmed={len(confirmed)} exactly_once={exactly_once} "
          f"duplicates={duplicates} orphans={orphans} "
          f"graph_requests_per_booking={per_booking:.2f} early_retries={early}")
    ok = exactly_once == len(confirmed) and duplicates == 0 and orphans == 0 \
        and failed_with_event == 0 and len(confirmed) == outcomes["confirmed"] and early == 0
    return 0 if ok else 1


class _NoCalendar:
    """Reading the bookings table needs no calendar."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"the report does not touch the calendar ({name})")


def main() -> None:
    """Parse the options and run the bench."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bookings", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--lost-rate", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    sys.exit(asyncio.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()
