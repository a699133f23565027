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
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402

from app.settings import Settings  # noqa: E402
from bench import _faults_common as common  # noqa: E402
from calendar_backend.booking import idempotency_key  # noqa: E402
from calendar_backend.booking_settings import BookingSettings  # noqa: E402
from calendar_backend.outlook.calendar import transaction_id  # noqa: E402
from calendar_backend.outlook.connections import open_calendar  # noqa: E402
from calendar_backend.outlook.sign_in import begin_sign_in, complete_sign_in  # noqa: E402
from calendar_backend.outlook.upkeep import sweep_failed_creates  # noqa: E402
from storage.database import Database  # noqa: E402
from tests.fakes.microsoft import FaultPlan, MicrosoftEmulator  # noqa: E402

OWNER = "owner@contoso.com"



async def run(args: argparse.Namespace) -> int:
    emulator = MicrosoftEmulator().start()
    emulator.add_account(OWNER, time_zone="Pacific Standard Time")
    with common.bench_database(args, "outlook-bench-") as (database, workdir):
        settings = Settings(
            _env_file=None, data_dir=workdir, token_key=Fernet.generate_key().decode(),
            graph_base_url=emulator.graph_base_url, microsoft_login_url=emulator.login_url,
            microsoft_client_id=emulator.client_id,
            microsoft_client_secret=emulator.client_secret,
        )
        try:
            emulator.sign_in_as(OWNER)
            landed = httpx.get(begin_sign_in(database, settings.outlook())).headers["location"]
            ref = (await complete_sign_in(database, settings.outlook(), landed)).ref
            booking = common.bench_booking(ref)
            emulator.clear_log()
            emulator.set_faults(FaultPlan(rate=args.fault_rate, statuses=(429, 503),
                                          retry_after=(0.05, 0.3), lost_rate=args.lost_rate,
                                          seed=args.seed))
            outcomes, elapsed = await common.call_all(args, lambda n, rng: common.one_call(
                database, open_calendar(database, settings.outlook(), ref), ref, booking, n,
                rng))
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


def report(args: argparse.Namespace, database: Database, emulator: MicrosoftEmulator,
           ref: str, booking: BookingSettings, outcomes: Counter[str], elapsed: float) -> int:
    """Compare the calendar with the bookings table and print the figures."""
    records = common.booking_rows(database, booking, ref)
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


def main() -> None:
    """Parse the options and run the bench."""
    sys.exit(asyncio.run(run(common.options(__doc__.split("\n")[0], concurrency=16))))


if __name__ == "__main__":
    main()
