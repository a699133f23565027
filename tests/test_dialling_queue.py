"""The dialling queue with one in-process worker, on SQLite and PostgreSQL: outcomes, retries,
calling hours, the do-not-call list and answering machines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from agent.campaign import CallingHours
from calendar_backend.booking_settings import Recipient
from storage.dialling_tables import DialAttemptRow, DialJobRow
from telephony.call_records import FollowUps, record_call_finished, record_call_started
from telephony.calling_hours import next_calling_time, within_hours
from telephony.config import DiallerConfig
from telephony.dialling import (
    WorkerRefused,
    enqueue_campaign,
    progress,
    register_worker,
)
from telephony.do_not_call import add_numbers, is_listed
from tests.dialling_helpers import DiallingRig, dialling_campaign, zone_at_hour

FAST = DiallerConfig(cps=50, cps_margin=0.1, lease_seconds=5, call_lease_seconds=30,
                     poll_seconds=0.05, heartbeat_seconds=0.5, concurrency=2)


def _contact(phone: str, first_name: str = "Ann", **custom: str) -> Recipient:
    return Recipient(first_name=first_name, phone=phone, custom=custom)


def _jobs(database) -> dict[str, DialJobRow]:  # noqa: ANN001
    with database.session() as session:
        return {j.phone: j for j in session.scalars(select(DialJobRow))}


def _attempts(database, phone: str) -> list[DialAttemptRow]:  # noqa: ANN001
    with database.session() as session:
        return list(session.scalars(select(DialAttemptRow).join(
            DialJobRow, DialJobRow.id == DialAttemptRow.job_id).where(DialJobRow.phone == phone)
            .order_by(DialAttemptRow.attempt)))


def _finished(database, name: str = "renewals"):  # noqa: ANN001, ANN202
    return lambda: progress(database, name).finished


@pytest.fixture
def rig(database):
    campaign = dialling_campaign(max_attempts=2)
    r = DiallingRig(database, [campaign])
    r.campaign = campaign
    yield r
    r.stop()


def test_every_contact_ends_with_its_own_outcome_and_every_attempt_is_recorded(rig):
    person, machine, busy, invalid = ("+12125550101", "+12125550102", "+12125550103",
                                      "+12125550104")
    rig.twilio.behaviours.update({machine: "machine", busy: "busy"})
    rig.twilio.invalid_numbers.add(invalid)
    added = enqueue_campaign(rig.database, rig.campaign,
                             [_contact(p) for p in (person, machine, busy, invalid)],
                             from_number="+14155550100")
    assert added == 4
    rig.run_worker_until(FAST, _finished(rig.database))

    jobs = _jobs(rig.database)
    assert {p: j.outcome for p, j in jobs.items()} == {
        person: "talked", machine: "voicemail", busy: "unreachable", invalid: "invalid"}
    # The busy line was tried max_attempts (2) times, each attempt with its status.
    assert [a.status for a in _attempts(rig.database, busy)] == ["busy", "busy"]
    assert rig.created_to().count(busy) == 2
    assert [(a.status, a.answered_by) for a in _attempts(rig.database, machine)] == [
        ("completed", "machine_end_beep")]
    assert "21211" in (_attempts(rig.database, invalid)[0].reason or "") or \
        "Invalid" in (_attempts(rig.database, invalid)[0].reason or "")
    # Every call asked Twilio for asynchronous answering-machine detection.
    creates = [form for kind, _, form in rig.twilio.requests if kind == "create"]
    assert all(f["MachineDetection"] == "DetectMessageEnd" and f["AsyncAmd"] == "true"
               and "/twilio/amd?job=" in f["AsyncAmdStatusCallback"] for f in creates)


def test_a_machine_hears_the_campaigns_voicemail_with_the_recipients_name(rig):
    machine = "+12125550111"
    rig.twilio.behaviours[machine] = "machine"
    enqueue_campaign(rig.database, rig.campaign, [_contact(machine, "Dana")],
                     from_number="+14155550100")
    rig.run_worker_until(FAST, lambda: _finished(rig.database)() and any(
        "Twiml" in u for c in rig.twilio.calls.values() for u in c.updates))
    call = next(c for c in rig.twilio.calls.values() if c.to == machine)
    said = [u["Twiml"] for u in call.updates if "Twiml" in u]
    assert _jobs(rig.database)[machine].outcome == "voicemail"
    assert len(said) == 1 and "Hi Dana, this is Sam from Acme" in said[0]
    assert "<Hangup" in said[0]


def test_a_campaign_that_hangs_up_on_machines_leaves_no_message(database):
    campaign = dialling_campaign(on_machine="hang_up")
    rig = DiallingRig(database, [campaign], hang_up_after=None)
    try:
        machine, person = "+12125550121", "+12125550122"
        rig.twilio.behaviours[machine] = "machine"
        rig.twilio.hang_up_after = 1.0
        enqueue_campaign(database, campaign, [_contact(machine), _contact(person)],
                         from_number="+14155550100")
        rig.run_worker_until(FAST, _finished(database))
        call = next(c for c in rig.twilio.calls.values() if c.to == machine)
        assert [u.get("Status") for u in call.updates] == ["completed"]
        human = next(c for c in rig.twilio.calls.values() if c.to == person)
        assert human.updates == []  # a person goes on talking to the agent
        assert {p: j.outcome for p, j in _jobs(database).items()} == {
            machine: "voicemail", person: "talked"}
    finally:
        rig.stop()


def test_a_contact_outside_calling_hours_waits_for_the_next_window(rig, database):
    campaign = dialling_campaign(calling_hours={"start": "08:00", "end": "21:00"})
    night = zone_at_hour(3)
    enqueue_campaign(database, campaign, [_contact("+12125550131", zone=night)],
                     from_number="+14155550100")
    job = _jobs(database)["+12125550131"]
    assert job.state == "queued" and job.zones == [night]
    local_start = job.run_after.astimezone(__import__("zoneinfo").ZoneInfo(night))
    assert (local_start.hour, local_start.minute) == (8, 0)
    assert job.run_after - datetime.now(UTC) > timedelta(hours=4)
    rig.run_worker_for(FAST, 1.0)  # it looks many times a second: nothing is due
    assert rig.created_to() == []
    assert _jobs(database)["+12125550131"].state == "queued"


def test_numbers_on_the_do_not_call_list_are_never_dialled(rig, database):
    banned, fine = "+12125550141", "+12125550142"
    add_numbers(database, [banned], source="import")
    enqueue_campaign(database, rig.campaign, [_contact(banned), _contact(fine)],
                     from_number="+14155550100")
    rig.run_worker_until(FAST, _finished(database))
    assert rig.created_to() == [fine]
    assert _jobs(database)[banned].outcome == "opted_out"


def test_a_caller_who_asks_for_no_more_calls_lands_on_the_do_not_call_list(database):
    record_call_started(database, "CA" + "7" * 32, campaign="renewals", direction="outbound",
                        caller_number="+12125550151", our_number="+14155550100")
    assert not is_listed(database, "+12125550151")
    record_call_finished(database, "CA" + "7" * 32, outcome="no_booking", transcript=[],
                         tool_calls=[], bookings=[], turn_latencies=[],
                         follow_ups=FollowUps(do_not_call=True))
    assert is_listed(database, "+12125550151")


def test_an_unsigned_answering_machine_callback_is_refused(rig):
    response = httpx.post(f"{rig.settings.public_url}/twilio/amd",
                          data={"CallSid": "CA" + "1" * 32, "AnsweredBy": "machine_end_beep"})
    assert response.status_code == 403


def test_call_server_metrics_carry_its_instance_label(rig):
    text = httpx.get(f"{rig.settings.public_url}/metrics").text
    assert 'booking_agent_active_calls{instance="test-server"}' in text


def test_a_second_worker_on_sqlite_is_refused_with_a_clear_error(database):
    register_worker(database, "first", stale_after=30)
    if database.dialect == "sqlite":
        with pytest.raises(WorkerRefused, match="SQLite serves one worker"):
            register_worker(database, "second", stale_after=30)
    else:
        register_worker(database, "second", stale_after=30)  # PostgreSQL: any number


def test_a_killed_sqlite_worker_does_not_lock_the_queue_for_ever(database):
    register_worker(database, "first", stale_after=0.01)
    import time

    time.sleep(0.05)
    register_worker(database, "second", stale_after=0.01)  # the first one is silent: gone


ZONES = ["America/New_York", "America/Los_Angeles", "Asia/Tokyo", "Europe/London",
         "Australia/Sydney", "Asia/Kolkata", "Pacific/Auckland", "America/Phoenix"]


@settings(max_examples=200, deadline=None)
@given(moment=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1),
                           timezones=st.just(UTC)),
       zones=st.lists(st.sampled_from(ZONES), min_size=1, max_size=4, unique=True),
       start=st.integers(0, 20), length=st.integers(1, 14))
def test_the_next_calling_time_is_inside_the_hours_in_every_candidate_zone(
        moment, zones, start, length):
    from datetime import time as wall

    end = min(start + length, 23)
    if end <= start:
        return
    hours = CallingHours(start=wall(start), end=wall(end))
    due = next_calling_time(moment, zones, hours)
    if within_hours(moment, zones, hours):
        assert due == moment
    if due is not None:
        assert due >= moment and within_hours(due, zones, hours)
        # Nothing earlier on a quarter-hour grid was inside the window.
        probe = moment + timedelta(minutes=15)
        while probe < due:
            assert not within_hours(probe, zones, hours)
            probe += timedelta(minutes=15)
