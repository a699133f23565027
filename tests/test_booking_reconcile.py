"""Claims reconciled: a booking process killed mid-booking leaves nothing blocked or unconfirmed.

The crashing process is real (``tests/booking_crash.py``, killed with SIGKILL at a crash
point); what it left behind is settled the way entry points settle it on start-up and the
call server keeps settling it in the background.
"""

from __future__ import annotations

import asyncio
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select as select_rows

from app.bootstrap import claims_upkeep, settle_claims
from app.settings import Settings
from calendar_backend.booking import WITHDRAW_MESSAGE, Booked, BookingFailed, BookingService
from calendar_backend.booking_store import WRITE_TIMEOUT
from calendar_backend.local_calendar import LocalCalendar
from calendar_backend.outlook.connections import open_calendar
from calendar_backend.reconcile import Settled, settle_stale_claims
from storage.booking_tables import BookingRow
from storage.database import Database
from tests.booking_crash import CALLER, booking_settings
from tests.calendar_helpers import provider_environment
from tests.fakes.microsoft import MicrosoftEmulator, fixtures
from tests.test_booking import RECIPIENT, GatedCalendar
from tests.test_outlook_booking import WORK, connect

emulator, ms_settings = fixtures.emulator, fixtures.ms_settings

ROOT = Path(__file__).resolve().parents[1]
# Monday 4 March 2030, 07:00 UTC: the first free slot is 09:00 UTC (an hour's notice, 09-17).
NOW = datetime(2030, 3, 4, 7, 0, tzinfo=UTC)
FIRST_SLOT = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
PLAIN = Settings(_env_file=None)


def crash_booking(database: Database, stop_at: str, *, calendar: str = "local",
                  env: dict[str, str] | None = None) -> datetime:
    """Run a booking process until it reaches ``stop_at``, kill it with SIGKILL; the start
    of the slot it was booking."""
    command = [sys.executable, "-m", "tests.booking_crash",
               "--db", database.url.render_as_string(hide_password=False),
               "--calendar", calendar, "--now", NOW.isoformat(), "--stop-at", stop_at]
    if database.schema:
        command += ["--schema", database.schema]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT),
             "HOME": tempfile.gettempdir(), **(env or {})})
    try:
        ready, _, _ = select.select([process.stdout], [], [], 60)
        line = process.stdout.readline() if ready else ""  # type: ignore[union-attr]
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        stderr = process.stderr.read()  # type: ignore[union-attr]
        process.stdout.close()  # type: ignore[union-attr]
        process.stderr.close()  # type: ignore[union-attr]
    assert line, f"the booking process never reached {stop_at}: {stderr}"
    assert process.returncode == -signal.SIGKILL
    stopped = json.loads(line)
    assert stopped["stopped"] == stop_at
    return datetime.fromisoformat(stopped["start"])


def bookings(database: Database) -> list[BookingRow]:
    with database.session() as session:
        return list(session.scalars(select_rows(BookingRow).where(BookingRow.hold_of.is_(None))))


def crashed_a_write_time_out_ago(database: Database) -> None:
    """Let the write time-out pass for the pending claims (their clocks moved back)."""
    stamp = datetime.now(UTC) - WRITE_TIMEOUT - timedelta(seconds=1)
    with database.session() as session:
        for row in session.scalars(select_rows(BookingRow).where(BookingRow.status == "pending")):
            row.created_at = row.updated_at = stamp


async def offered(database: Database, provider: object, calendar: str = "local") -> list[datetime]:
    """The first slots a new call on ``calendar`` would offer."""
    service = BookingService.on_database(
        database, provider, booking_settings(calendar),  # type: ignore[arg-type]
        calendar_id=calendar, campaign_name="Next call", calendar_zone="UTC")
    return [slot.start for slot in await service.free_slots(NOW, limit=2)]


# -- the embedded calendar -----------------------------------------------------------------


async def test_killed_between_claim_and_write_the_slot_is_offered_again(
    database: Database,
) -> None:
    start = crash_booking(database, "before-write")
    calendar = LocalCalendar(database)
    assert start == FIRST_SLOT
    [claim] = bookings(database)
    assert claim.status == "pending" and calendar.events() == []
    # While its write may still be under way the claim holds the slot ...
    assert FIRST_SLOT not in await offered(database, calendar)

    crashed_a_write_time_out_ago(database)
    # ... once the write time-out has passed it no longer blocks offers,
    assert FIRST_SLOT in await offered(database, calendar)
    # and reconciliation, finding no event, releases it.
    assert await settle_claims(database, PLAIN) == Settled(released=1)
    [released] = bookings(database)
    assert released.status == "failed" and released.event_id is None
    assert await offered(database, calendar) == [FIRST_SLOT, FIRST_SLOT + timedelta(minutes=30)]
    assert await settle_claims(database, PLAIN) == Settled()


async def test_killed_after_write_before_confirm_the_booking_is_confirmed(
    database: Database,
) -> None:
    start = crash_booking(database, "after-write")
    calendar = LocalCalendar(database)
    [claim] = bookings(database)
    [event] = calendar.events()
    assert claim.status == "pending" and event.start == start
    assert event.attendees[0].email == CALLER.email  # the invitation went out

    crashed_a_write_time_out_ago(database)
    assert await settle_claims(database, PLAIN) == Settled(confirmed=1)
    [confirmed] = bookings(database)
    assert confirmed.status == "confirmed" and confirmed.event_id == event.id
    # The caller's meeting keeps its slot: nobody else is offered it.
    assert start not in await offered(database, calendar)
    assert await settle_claims(database, PLAIN) == Settled()


async def test_a_fresh_claim_is_left_to_its_own_process(database: Database) -> None:
    crash_booking(database, "before-write")
    assert await settle_claims(database, PLAIN) == Settled()
    assert [row.status for row in bookings(database)] == ["pending"]


async def test_test_call_settles_abandoned_claims_on_start_up(
    database: Database, tmp_path: Path,
) -> None:
    crash_booking(database, "before-write")
    crashed_a_write_time_out_ago(database)
    url = database.url.render_as_string(hide_password=False)
    if database.schema:  # a plain URL reaching the test's own schema
        url += f"?options=-csearch_path%3D{database.schema}"
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "test-call", "--script",
         str(ROOT / "examples/scenarios/happy_path.yaml"), "--db", url, "--json"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT),
             "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    crashed = next(row for row in bookings(database) if row.call_id == "crashing-call")
    assert crashed.status == "failed"


async def test_the_call_server_upkeep_settles_abandoned_claims_from_start_up(
    database: Database,
) -> None:
    crash_booking(database, "after-write")
    crashed_a_write_time_out_ago(database)
    stop = asyncio.Event()
    upkeep = asyncio.create_task(claims_upkeep(database, PLAIN)(stop))
    try:
        for _ in range(200):
            if bookings(database)[0].status != "pending":
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(upkeep, 10)
    assert [row.status for row in bookings(database)] == ["confirmed"]


async def test_a_write_outliving_its_claim_is_withdrawn_not_confirmed(
    database: Database,
) -> None:
    # The process is alive but its write hangs past the time-out (say the whole machine
    # stalled): reconciliation finds no event and releases the slot; the late event must
    # not then be confirmed over whoever has the slot now.
    calendar = GatedCalendar(database, "create")
    service = BookingService.on_database(
        database, calendar, booking_settings("local"), calendar_id="local",
        campaign_name="Slow call", calendar_zone="UTC")
    booking = asyncio.create_task(service.book(
        start=FIRST_SLOT, attendee=CALLER, recipient=RECIPIENT, call_id="slow", now=NOW))
    await asyncio.wait_for(calendar.started.wait(), 10)
    later = datetime.now(UTC) + WRITE_TIMEOUT + timedelta(seconds=1)
    settled = await settle_stale_claims(database, lambda _: LocalCalendar(database), now=later)
    assert settled == Settled(released=1)

    calendar.proceed.set()
    result = await asyncio.wait_for(booking, 10)

    assert isinstance(result, BookingFailed)
    [late] = calendar.events()
    assert late.cancelled and late.cancel_message == WITHDRAW_MESSAGE
    assert [row.status for row in bookings(database)] == ["failed"]


# -- Outlook (the Graph emulator) ---------------------------------------------------------------


@pytest.mark.parametrize("stop_at", ["before-write", "after-write"])
async def test_outlook_booking_killed_mid_way_is_settled_by_its_transaction_id(
    database: Database, emulator: MicrosoftEmulator, ms_settings: Settings, stop_at: str,
) -> None:
    ref = await connect(database, ms_settings, emulator, WORK)
    start = crash_booking(database, stop_at, calendar=ref, env=provider_environment(
        ms_settings, fixtures.settings_fields(emulator)))
    [claim] = bookings(database)
    assert claim.status == "pending"
    written = emulator.events(WORK)
    assert len(written) == (1 if stop_at == "after-write" else 0)

    crashed_a_write_time_out_ago(database)
    settled = await settle_claims(database, ms_settings)

    [row] = bookings(database)
    provider = open_calendar(database, ms_settings.outlook(), ref)
    if stop_at == "after-write":
        assert settled == Settled(confirmed=1)
        assert row.status == "confirmed" and row.event_id == written[0].id
        join_url = written[0].data["onlineMeeting"]["joinUrl"]
        assert join_url and row.online_meeting_url == join_url
        assert start not in await offered(database, provider, ref)
    else:
        assert settled == Settled(released=1)
        assert row.status == "failed"
        assert start in await offered(database, provider, ref)
    # The look-up went by the event's transactionId over the slot, and wrote nothing.
    assert emulator.events(WORK) == written


async def test_outlook_claims_wait_while_the_calendar_cannot_answer(
    database: Database, emulator: MicrosoftEmulator, ms_settings: Settings,
) -> None:
    ref = await connect(database, ms_settings, emulator, WORK)
    crash_booking(database, "after-write", calendar=ref, env=provider_environment(
        ms_settings, fixtures.settings_fields(emulator)))
    crashed_a_write_time_out_ago(database)
    # Throttled for longer than the look-up's budget (4 s): the mailbox is held that long.
    emulator.queue_fault(503, "ServiceNotAvailable", retry_after="5",
                         path_contains="calendarView")

    assert await settle_claims(database, ms_settings) == Settled(postponed=1)
    assert [row.status for row in bookings(database)] == ["pending"]
    assert await settle_claims(database, ms_settings) == Settled(postponed=1)  # still held
    # Once the hold is over and Graph answers again, the next round confirms it.
    await asyncio.sleep(5.1)
    assert await settle_claims(database, ms_settings) == Settled(confirmed=1)


async def test_a_booked_slot_left_by_a_crash_is_not_booked_twice(database: Database) -> None:
    # Another caller confirms the slot of a crashed, written booking before reconciliation:
    # the calendar's event makes it taken, and reconciliation then confirms the first.
    start = crash_booking(database, "after-write")
    crashed_a_write_time_out_ago(database)
    calendar = LocalCalendar(database)
    service = BookingService.on_database(
        database, calendar, booking_settings("local"), calendar_id="local",
        campaign_name="Next call", calendar_zone="UTC")
    second = await service.book(start=start, attendee=CALLER, recipient=RECIPIENT,
                                call_id="second", now=NOW)
    assert not isinstance(second, Booked)
    assert await settle_claims(database, PLAIN) == Settled(confirmed=1)
    assert [(row.call_id, row.status) for row in bookings(database)] == [
        ("crashing-call", "confirmed")]
