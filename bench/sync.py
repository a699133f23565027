"""Delta sync of a busy Outlook (or Google) calendar: API requests and wall time, against a
full re-read.

Runs the Microsoft emulator (``--provider google``: the Google emulator, whose incremental
sync follows a ``syncToken``), connects an account through the real sign-in, books
``--bookings`` meetings through BookingService, fills the calendar up to ``--events`` events
with the owner's own (outside booking hours), and runs a first (full) sync. Then the owner
changes ``--changed`` events in Outlook, half deleted and half moved, among them a fifth of
the booked meetings, and one delta sync brings the synced copy and the bookings up to date.
The baseline, in the same run: a full re-read of the window (the sync without its delta
link), which is what every sync would cost without delta.

Bookings are consistent when each booking whose event the owner deleted is
``cancelled_by_owner``, each moved one has its event's new time, the others are unchanged,
and the synced copy equals the calendar. The last line is machine-readable::

    events=<n> changed=<n> requests=<r> wall_ms=<w> bookings_consistent=<yes|no>

Usage: .venv/bin/python bench/sync.py [--provider outlook|google] [--events 1000]
       [--changed 100] [--bookings 40] [--page-size 200] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402

from app.settings import Settings  # noqa: E402
from calendar_backend.booking import Booked, BookingService  # noqa: E402
from calendar_backend.booking_settings import BookingSettings, Recipient  # noqa: E402
from calendar_backend.google import connections as google_connections  # noqa: E402
from calendar_backend.google import sign_in as google_sign_in  # noqa: E402
from calendar_backend.google import sync as google_sync  # noqa: E402
from calendar_backend.outlook.connections import find_connection, open_calendar  # noqa: E402
from calendar_backend.outlook.sign_in import begin_sign_in, complete_sign_in  # noqa: E402
from calendar_backend.outlook.sync import SyncResult, sync_calendar, synced_events  # noqa: E402
from calendar_backend.provider import Attendee, CalendarProvider  # noqa: E402
from calendar_backend.sql_store import SqlBookingStore  # noqa: E402
from storage.booking_tables import BookingStatus  # noqa: E402
from storage.database import Database, open_database  # noqa: E402
from storage.google_sync_tables import GoogleSyncStateRow  # noqa: E402
from storage.outlook_sync_tables import OutlookSyncStateRow  # noqa: E402
from tests.fakes.google import GoogleEmulator  # noqa: E402
from tests.fakes.microsoft import MicrosoftEmulator  # noqa: E402

OWNER = "owner@contoso.com"


@dataclass
class Provider:
    """What differs between the providers: the emulator, sign-in, calendar, sync, state."""

    name: str
    service: str  # the emulator's request-log service
    emulator: Any
    settings: Callable[[Path], Settings]
    connect: Callable[[Database, Settings], Awaitable[str]]
    open: Callable[[Database, Settings, str], CalendarProvider | None]
    sync: Callable[[Database, Settings, str, int], Awaitable[SyncResult]]
    synced: Callable[[Database, str], list[Any]]
    forget: Callable[[Database, str], None]
    subject: str  # add_event's keyword for the title


def outlook_provider() -> Provider:
    """The Outlook side (Microsoft emulator, Graph delta)."""
    emulator = MicrosoftEmulator().start()
    emulator.add_account(OWNER, time_zone="Pacific Standard Time")

    async def connect(database: Database, settings: Settings) -> str:
        emulator.sign_in_as(OWNER)
        landed = httpx.get(begin_sign_in(database, settings.outlook())).headers["location"]
        return (await complete_sign_in(database, settings.outlook(), landed)).ref

    return Provider(
        "outlook", "graph", emulator,
        lambda workdir: Settings(
            _env_file=None, data_dir=workdir, token_key=Fernet.generate_key().decode(),
            graph_base_url=emulator.graph_base_url, microsoft_login_url=emulator.login_url,
            microsoft_client_id=emulator.client_id,
            microsoft_client_secret=emulator.client_secret),
        connect,
        lambda db, settings, ref: open_calendar(db, settings.outlook(), ref,
                                                budget_seconds=10.0),
        lambda db, settings, ref, size: sync_calendar(db, settings.outlook(), ref,
                                                      page_size=size),
        synced_events, forget_delta_link, "subject")


def google_provider() -> Provider:
    """The Google side (Google emulator, events.list with a syncToken)."""
    emulator = GoogleEmulator().start()
    emulator.add_account(OWNER, time_zone="America/Los_Angeles")

    async def connect(database: Database, settings: Settings) -> str:
        emulator.sign_in_as(OWNER)
        url = await google_sign_in.begin_sign_in(database, settings.google())
        landed = httpx.get(url).headers["location"]
        return (await google_sign_in.complete_sign_in(database, settings.google(), landed)).ref

    def forget(database: Database, ref: str) -> None:
        connection = google_connections.find_connection(database, ref)
        with database.session() as session:
            state = session.get(GoogleSyncStateRow, connection.id)
            assert state is not None
            state.sync_token = None

    return Provider(
        "google", "calendar", emulator,
        lambda workdir: Settings(
            _env_file=None, data_dir=workdir, token_key=Fernet.generate_key().decode(),
            google_calendar_base_url=emulator.calendar_base_url,
            google_auth_url=emulator.auth_url, google_token_url=emulator.token_url,
            google_revoke_url=emulator.revoke_url, google_client_id=emulator.client_id,
            google_client_secret=emulator.client_secret),
        connect,
        lambda db, settings, ref: google_connections.open_calendar(
            db, settings.google(), ref, budget_seconds=10.0),
        lambda db, settings, ref, size: google_sync.sync_calendar(db, settings.google(), ref,
                                                                  page_size=size),
        google_sync.synced_events, forget, "summary")


def options() -> argparse.Namespace:
    """The bench's command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--provider", choices=("outlook", "google"), default="outlook")
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--changed", type=int, default=100)
    parser.add_argument("--bookings", type=int, default=40)
    parser.add_argument("--page-size", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    args = parser.parse_args()
    if not 0 < args.bookings <= args.events or not 0 < args.changed <= args.events:
        parser.error("need 0 < --bookings <= --events and 0 < --changed <= --events")
    return args


async def book_all(provider_of: Provider, database: Database, settings: Settings, ref: str,
                   count: int, now: datetime) -> list[Booked]:
    """``count`` meetings booked one after another through BookingService."""
    booking = BookingSettings(enabled=True, calendar=ref, meeting_length_minutes=30,
                              look_ahead_days=30, meeting_type="video")
    booked = []
    for n in range(count):
        provider = provider_of.open(database, settings, ref)
        assert provider is not None
        service = BookingService.on_database(database, provider, booking, calendar_id=ref,
                                             campaign_name="bench",
                                             calendar_zone=await provider.time_zone())
        await service.load_availability(now)
        [slot] = await service.free_slots(now, limit=1)
        email = f"caller{n}@example.org"
        result = await service.book(
            start=slot.start, attendee=Attendee(email=email, name=f"Caller {n}"),
            recipient=Recipient(first_name="Caller", last_name=str(n), phone="+14155550100",
                                email=email), call_id=f"bench-{n}", now=now)
        assert isinstance(result, Booked), result
        booked.append(result)
    return booked


async def timed_sync(database: Database, settings: Settings, provider: Provider,
                     ref: str, page_size: int) -> tuple[SyncResult, int, float]:
    """One sync: its result, the API requests the emulator saw, and the wall time (ms)."""
    provider.emulator.clear_log()
    started = time.perf_counter()
    result = await provider.sync(database, settings, ref, page_size)
    wall_ms = (time.perf_counter() - started) * 1000
    return result, len(provider.emulator.requests(provider.service)), wall_ms


def forget_delta_link(database: Database, ref: str) -> None:
    """Make the next sync a full re-read (the baseline)."""
    connection = find_connection(database, ref)
    with database.session() as session:
        state = session.get(OutlookSyncStateRow, connection.id)
        assert state is not None
        state.delta_link = None


def consistent(database: Database, provider: Provider, ref: str,
               booked: list[Booked], deleted: set[str], moved: set[str]) -> bool:
    """Whether bookings and the synced copy agree with the calendar (see the docstring)."""
    events = {e.id: e for e in provider.emulator.events(OWNER)}
    records = {r.id: r for r in SqlBookingStore(database, ref).records()}
    ok = True
    for b in booked:
        record = records[b.booking_id]
        if b.event_id in deleted:
            ok &= record.status == BookingStatus.CANCELLED_BY_OWNER
        elif b.event_id in moved:
            event = events[b.event_id]
            ok &= record.status in (BookingStatus.CONFIRMED, BookingStatus.CONFLICT) \
                and record.slot.start == event.start and record.slot.end == event.end
        else:
            ok &= record.status == BookingStatus.CONFIRMED and record.slot == b.slot
    copy = {e.event_id: (e.start, e.end) for e in provider.synced(database, ref)}
    ok &= copy == {i: (e.start, e.end) for i, e in events.items()}
    return bool(ok)


async def run(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    provider = google_provider() if args.provider == "google" else outlook_provider()
    emulator = provider.emulator
    workdir = Path(tempfile.mkdtemp(prefix="sync-bench-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    schema = f"bench_{uuid.uuid4().hex[:10]}" if url.startswith("postgres") else None
    database = open_database(url, schema=schema)
    settings = provider.settings(workdir)
    api = "Graph" if provider.name == "outlook" else "Google"
    try:
        ref = await provider.connect(database, settings)
        # The sync window follows the real clock: everything happens in the coming weeks.
        now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
        booked = await book_all(provider, database, settings, ref, args.bookings, now)
        # The owner's own events: half-hour ones between 00:00 and 08:00 UTC (night in
        # Los Angeles, so they never take a bookable slot), over the next weeks.
        day0 = now.replace(hour=0)
        for n in range(args.events - args.bookings):
            start = day0 + timedelta(days=1 + n // 16, minutes=30 * (n % 16))
            emulator.add_event(OWNER, start, start + timedelta(minutes=30),
                               **{provider.subject: f"Owner event {n}"})
        first, first_requests, first_ms = await timed_sync(database, settings, provider, ref,
                                                           args.page_size)
        print(f"first sync (full): {first.events} events, {first_requests} {api} requests, "
              f"{first_ms:.0f} ms")

        # The owner changes events in the calendar: half deleted, half moved; a fifth of them
        # booked meetings (moved a week on, deleted outright).
        emulator.block_notifications()  # this bench measures the sync, not the webhook
        booked_ids = [b.event_id for b in booked]
        own_ids = [e.id for e in emulator.events(OWNER) if e.id not in set(booked_ids)]
        touched_booked = rng.sample(booked_ids, min(len(booked_ids), args.changed // 5))
        touched = touched_booked + rng.sample(own_ids, args.changed - len(touched_booked))
        deleted, moved = set(touched[0::2]), set(touched[1::2])
        events = {e.id: e for e in emulator.events(OWNER)}
        for event_id in touched:
            if event_id in deleted:
                emulator.owner_deletes(OWNER, event_id)
            else:
                shift = timedelta(days=7) if event_id in booked_ids else timedelta(minutes=15)
                emulator.owner_moves(OWNER, event_id, events[event_id].start + shift,
                                     events[event_id].end + shift)

        delta, requests, wall_ms = await timed_sync(database, settings, provider, ref,
                                                    args.page_size)
        ok = consistent(database, provider, ref, booked, deleted, moved)
        print(f"delta sync: {delta.changed} changed, {delta.removed} removed; bookings "
              f"cancelled {len(delta.cancelled)}, moved {len(delta.moved)}, conflicts "
              f"{len(delta.conflicts)}; {requests} {api} requests, {wall_ms:.0f} ms")

        provider.forget(database, ref)
        full, full_requests, full_ms = await timed_sync(database, settings, provider, ref,
                                                        args.page_size)
        print(f"baseline, full re-read of the window: {full.events} events, {full_requests} "
              f"{api} requests, {full_ms:.0f} ms")
        ok &= consistent(database, provider, ref, booked, deleted, moved)
        print(f"events={args.events} changed={args.changed} requests={requests} "
              f"wall_ms={wall_ms:.0f} bookings_consistent={'yes' if ok else 'no'}")
        return 0 if ok else 1
    finally:
        emulator.stop()
        if schema:
            database.drop_schema()
        database.dispose()


def main() -> None:
    """Parse the options and run the bench."""
    sys.exit(asyncio.run(run(options())))


if __name__ == "__main__":
    main()
