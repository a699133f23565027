"""Several real ``booking-agent worker`` processes on one PostgreSQL queue, measured at the
Twilio emulator: nobody in two calls at once, the calls-per-second budget held, calling hours
and the do-not-call list honoured, retries bounded, and a SIGKILLed worker's job finished by
another worker."""

from __future__ import annotations

import signal
import time
import uuid

import pytest
from sqlalchemy import select

from calendar_backend.booking_settings import Recipient
from storage.database import open_database
from storage.dialling_tables import DialAttemptRow, DialJobRow
from telephony.dialling import enqueue_campaign, progress
from telephony.do_not_call import add_numbers
from tests.conftest import POSTGRES_URL
from tests.dialling_helpers import DiallingRig, dialling_campaign, schema_url, zone_at_hour


@pytest.fixture
def postgres():
    schema = f"t_{uuid.uuid4().hex[:12]}"
    db = open_database(POSTGRES_URL, schema=schema)
    db.url_for_workers = schema_url(POSTGRES_URL, schema)
    try:
        yield db
    finally:
        db.drop_schema()
        db.dispose()


def _wait(condition, timeout: float, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _stop(processes) -> None:  # noqa: ANN001
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(15)
        except Exception:  # noqa: BLE001 - a stuck worker is killed, the test reports it
            process.kill()


def test_three_workers_share_the_queue_and_the_budget_without_calling_anyone_twice(postgres):
    campaign = dialling_campaign(max_attempts=3, max_calls_in_progress=8,
                                 calling_hours={"start": "08:00", "end": "21:00"})
    rig = DiallingRig(postgres, [campaign], emulator_process=True)
    day, night = zone_at_hour(12), zone_at_hour(2)
    people = [f"+1212555{i:04d}" for i in range(1000, 1030)]
    busy = people[:5]
    banned = people[5:8]
    sleeping = [f"+1312555{i:04d}" for i in range(1000, 1005)]
    rig.twilio.behaviours.update({p: "busy" for p in busy})
    rig.twilio.configure()
    add_numbers(postgres, banned, source="import")
    contacts = [Recipient(phone=p, custom={"zone": day}) for p in people] + \
        [Recipient(phone=p, custom={"zone": night}) for p in sleeping]
    enqueue_campaign(postgres, campaign, contacts, from_number="+14155550100")
    cps = 8
    workers = [rig.start_worker_process(
        postgres.url_for_workers, f"w{i}", dial_cps=str(cps), dial_poll_seconds="0.1",
        # Slots 40% wider than 1/cps: a test machine busy with other work stalls processes
        # for 100 ms and more, which the emulator sees as calls arriving together.
        dial_cps_margin="0.4",
        dial_lease_seconds="5", dial_worker_concurrency="2") for i in range(3)]
    try:
        _wait(lambda: progress(postgres, campaign.name).jobs.get("done", 0) == len(people),
              90, "every daytime contact to finish")
        time.sleep(0.5)  # any stray call would show at the emulator now
        _stop(workers)
        overlaps, max_cps = rig.twilio.overlapping_calls(), rig.twilio.max_calls_per_second()
        called = rig.created_to()
    finally:
        _stop(workers)
        rig.stop()
    assert overlaps == {}
    assert max_cps <= cps
    assert not set(called) & set(banned)  # the do-not-call list
    assert not set(called) & set(sleeping)  # 2 AM in their zone
    assert all(called.count(p) == 3 for p in busy)  # retried, and no more than max_attempts
    assert all(called.count(p) == 1 for p in people if p not in busy + banned)
    with postgres.session() as session:
        outcomes = {j.phone: (j.state, j.outcome) for j in session.scalars(select(DialJobRow))}
        workers_used = set(session.scalars(select(DialAttemptRow.worker)))
    assert all(outcomes[p] == ("done", "unreachable") for p in busy)
    assert all(outcomes[p] == ("done", "opted_out") for p in banned)
    assert all(outcomes[p][0] == "queued" for p in sleeping)
    assert workers_used <= {"w0", "w1", "w2"} and len(workers_used) >= 2


def test_a_sigkilled_workers_job_is_taken_and_finished_by_another_worker(postgres):
    campaign = dialling_campaign()
    rig = DiallingRig(postgres, [campaign], emulator_process=True)
    first, second = "+12125552001", "+12125552002"
    enqueue_campaign(postgres, campaign, [Recipient(phone=first), Recipient(phone=second)],
                     from_number="+14155550100")
    # At 0.4 calls per second the second job waits ~2.75 s for its slot, leased by worker A
    # with its attempt counted; A's hold on it lapses 3 s after that slot.
    slow = {"dial_cps": "0.4", "dial_poll_seconds": "0.1", "dial_lease_seconds": "2",
            "dial_confirm_seconds": "3", "dial_worker_concurrency": "1"}
    a = rig.start_worker_process(postgres.url_for_workers, "A", **slow)
    b = None
    try:
        def second_leased_by_a() -> bool:
            with postgres.session() as session:
                job = session.scalar(select(DialJobRow).where(DialJobRow.phone == second))
            return job.state == "leased" and job.leased_by == "A" and \
                len(rig.created_to()) == 1

        _wait(second_leased_by_a, 30, "worker A to hold the second contact")
        a.send_signal(signal.SIGKILL)
        a.wait(10)
        b = rig.start_worker_process(postgres.url_for_workers, "B", **slow)
        _wait(lambda: progress(postgres, campaign.name).finished, 60, "the queue to finish")
        called = rig.created_to()
    finally:
        _stop([p for p in (a, b) if p is not None])
        rig.stop()
    assert sorted(called) == [first, second]  # each called once
    with postgres.session() as session:
        attempts = {(a.job_id, a.attempt): (a.worker, a.status) for a in session.scalars(
            select(DialAttemptRow))}
        jobs = {j.phone: j for j in session.scalars(select(DialJobRow))}
    job = jobs[second].id
    # A counted an attempt it never dialled (killed waiting for its slot); B dialled.
    assert attempts[(job, 1)] == ("A", "lost")
    assert attempts[(job, 2)] == ("B", "completed")
    assert jobs[second].outcome == "talked"
