"""Round-robin booking on a pool of members on mixed providers (seed 001).

The pool mixes Adele on Outlook (the Microsoft emulator), Grace on Google (the Google
emulator), both connected by signing in with the real clients, and Pat with no calendar
(the campaign's weekly hours only). The pool is opened as a live call opens it
(``app.bootstrap.connect_calendar``); nothing is patched.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import update

from agent.call_session import open_call
from agent.campaign import Campaign
from app.bootstrap import connect_calendar, for_organisation, settle_claims
from app.campaign_files import parse_campaign
from app.cli import main
from app.harness import CallerSpec, EventSpec
from app.operator_api import create_operator_api
from app.operators.accounts import create_api_key, create_operator
from app.settings import Settings
from app.validation import validation_problems
from calendar_backend.booking import Booked, Cancelled, NotAllowed, SlotTaken
from calendar_backend.booking_settings import BookingSettings, Recipient
from calendar_backend.booking_store import WRITE_TIMEOUT, Claim
from calendar_backend.google.sign_in import begin_sign_in as google_begin
from calendar_backend.google.sign_in import complete_sign_in as google_complete
from calendar_backend.interval import Interval
from calendar_backend.outlook.sign_in import begin_sign_in as outlook_begin
from calendar_backend.outlook.sign_in import complete_sign_in as outlook_complete
from calendar_backend.pool import PoolBookingService, assignment_order, no_calendar_id
from calendar_backend.provider import Attendee
from calendar_backend.sql_store import SqlBookingStore
from storage.booking_tables import BookingRow
from storage.database import Database
from tests.calendar_helpers import BOOKS_THE_FIRST_TIME, agent_lines, browser, guided_call
from tests.fakes import both_calendars
from tests.fakes.google import GoogleEmulator
from tests.fakes.google import fixtures as google_fixtures
from tests.fakes.microsoft import MicrosoftEmulator

emulator, google, settings = both_calendars.emulator, both_calendars.google, \
    both_calendars.settings

ADELE, GRACE = "adele@contoso.com", google_fixtures.OWNER
# Monday 4 March 2030, 08:00 in New York, where the campaign's weekly hours are.
NOW = datetime(2030, 3, 4, 13, 0, tzinfo=UTC)
# With two hours' notice the first slot is 10:00 New York.
TEN = datetime(2030, 3, 4, 15, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
RECIPIENT = Recipient(first_name="Sam", last_name="Caller", phone="+15551234567")


@pytest.fixture
async def refs(database: Database, settings: Settings, emulator: MicrosoftEmulator,
               google: GoogleEmulator) -> dict[str, str]:
    """Adele connects her Outlook and Grace her Google calendar: their references."""
    emulator.sign_in_as(ADELE)
    outlook = await outlook_complete(
        database, settings.outlook(), browser(outlook_begin(database, settings.outlook())))
    google.sign_in_as(GRACE)
    url = await google_begin(database, settings.google())
    grace = await google_complete(database, settings.google(), browser(url))
    return {"Adele": outlook.ref, "Grace": grace.ref}


def pool_campaign(refs: dict[str, str], members: tuple[str, ...] = ("Adele", "Grace", "Pat"),
                  **booking: Any) -> Campaign:
    """30-minute video calls round-robin on ``members``, weekdays 9 to 5 in New York."""
    return parse_campaign({
        "name": "team-demos",
        "business_name": "Workestra",
        "purpose": "a product demo",
        "booking": {
            "enabled": True,
            "pool": [{"name": name, "calendar": refs.get(name)} for name in members],
            "meeting_length_minutes": 30,
            "availability": {"timezone": "America/New_York", "start": "09:00", "end": "17:00"},
            "buffer_after_minutes": 10,
            "minimum_notice_minutes": 120,
            "meeting_type": "video",
            **booking,
        },
    })


async def open_pool(database: Database, settings: Settings, campaign: Campaign
                    ) -> PoolBookingService:
    """The pool as a call opens it, with its availability read."""
    connection = connect_calendar(campaign, database, settings)
    pool = PoolBookingService.on_database(database, connection.members, campaign.booking,
                                          campaign_name=campaign.name)
    await pool.load_availability(NOW)
    return pool


async def book(pool: PoolBookingService, start: datetime, caller: int) -> Any:
    return await pool.book(start=start, attendee=Attendee(email=f"caller{caller}@example.org"),
                           recipient=RECIPIENT, call_id=f"call-{caller}", now=NOW)


def our_events(emu: MicrosoftEmulator | GoogleEmulator, owner: str) -> list[Any]:
    """The events the agent booked (they have attendees) on ``owner``'s calendar."""
    return [e for e in emu.events(owner) if e.data.get("attendees")]


# -- assignment, the pure part ---------------------------------------------------------------

NAMES = st.lists(st.sampled_from("abcdefgh"), min_size=1, max_size=8, unique=True)
TIMES = st.datetimes(min_value=datetime(2030, 1, 1), max_value=datetime(2031, 1, 1),
                     timezones=st.just(UTC))


@given(NAMES, st.data())
def test_assignment_never_picks_a_busy_member_and_tries_every_free_one_once(
        members: list[str], data: st.DataObject) -> None:
    free = data.draw(st.sets(st.sampled_from(members)))
    last = data.draw(st.dictionaries(st.sampled_from(members), TIMES))

    order = assignment_order(members, free, last)

    assert sorted(order) == sorted(free)


@given(NAMES, st.data())
def test_assignment_picks_the_least_recently_booked_ties_in_pool_order(
        members: list[str], data: st.DataObject) -> None:
    free = data.draw(st.sets(st.sampled_from(members), min_size=1))
    last = data.draw(st.dictionaries(st.sampled_from(members), TIMES))

    order = assignment_order(members, free, last)

    never = [m for m in members if m in free and m not in last]
    if never:  # someone free never booked: the first of those in pool order
        assert order[0] == never[0]
    else:
        earliest = min(last[m] for m in free)
        assert order[0] == next(m for m in members if m in free and last[m] == earliest)
    # Each next member was booked no earlier than the one before (never booked first).
    keys = [(m in last, last.get(m, NOW)) for m in order]
    assert keys == sorted(keys)


def test_assignment_with_equal_times_follows_pool_order() -> None:
    at = datetime(2030, 3, 1, tzinfo=UTC)
    assert assignment_order(["c", "a", "b"], {"a", "b", "c"},
                            {"a": at, "b": at, "c": at}) == ["c", "a", "b"]


# -- settings --------------------------------------------------------------------------------

def problems(booking: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        BookingSettings.model_validate({"enabled": True, **booking})
    return validation_problems(caught.value)


ZONE = {"availability": {"timezone": "UTC"}}


def test_a_pool_names_each_member_once() -> None:
    assert problems({"pool": [{"name": "Ann"}, {"name": "ann "}], **ZONE}) == [
        ("pool", "two pool members have the same name")]


def test_a_pool_needs_a_member() -> None:
    assert problems({"pool": [], **ZONE}) == [("pool", "a pool needs at least one member")]


def test_a_pool_and_a_calendar_are_not_given_together() -> None:
    assert problems({"calendar": "outlook:sales", "pool": [{"name": "Ann"}], **ZONE}) == [
        ("pool", "give either booking.calendar or booking.pool, not both")]


def test_two_members_on_one_calendar_are_refused() -> None:
    assert problems({"pool": [{"name": "Ann", "calendar": "google:a"},
                              {"name": "Bo", "calendar": "google:a"}], **ZONE}) == [
        ("pool", "two pool members book on the same calendar")]


def test_a_pool_states_the_zone_of_its_weekly_hours() -> None:
    assert problems({"pool": [{"name": "Ann", "calendar": "google:a"}]}) == [
        ("availability", "booking on a pool needs booking.availability.timezone"
                         " (e.g. America/New_York)")]


def test_a_member_field_error_names_its_place() -> None:
    assert problems({"pool": [{"name": "Ann", "calendar": ""}, {"name": "Bo", "x": 1}],
                     **ZONE}) == [
        ("pool.0.calendar", "String should have at least 1 character"),
        ("pool.1.x", "unknown field")]


MEMBER = st.fixed_dictionaries({"name": st.text(max_size=12)}, optional={
    "calendar": st.one_of(st.none(), st.sampled_from(["local", "google:a", "outlook:b", ""]))})


@given(st.lists(MEMBER, max_size=5))
def test_any_pool_is_either_accepted_as_written_or_refused_by_path(
        members: list[dict[str, Any]]) -> None:
    try:
        booking = BookingSettings.model_validate({"enabled": True, "pool": members, **ZONE})
    except ValidationError as exc:
        assert all(path.startswith("pool") for path, _ in validation_problems(exc))
        return
    pool = booking.pool or []
    names = [m.name.casefold() for m in pool]
    calendars = [m.calendar for m in pool if m.calendar is not None]
    assert pool and len(set(names)) == len(names) and len(set(calendars)) == len(calendars)
    assert [m.name for m in pool] == [" ".join(m["name"].split()) for m in members]


def test_a_valid_pool_round_trips() -> None:
    booking = BookingSettings.model_validate({
        "enabled": True, "pool": [{"name": " Ann  Lee ", "calendar": "google:a"},
                                  {"name": "Bo"}], "say_member_name": True, **ZONE})
    assert [(m.name, m.calendar) for m in booking.pool or []] == [
        ("Ann Lee", "google:a"), ("Bo", None)]
    assert BookingSettings.model_validate(booking.model_dump(mode="json")) == booking


def test_campaign_check_names_the_pool_and_each_members_calendar(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "demos.yaml"
    path.write_text(yaml.safe_dump({
        "name": "team-demos", "business_name": "Workestra", "purpose": "a product demo",
        "booking": {"enabled": True, "availability": {"timezone": "America/New_York"},
                    "pool": [{"name": "Adele", "calendar": "outlook:adele"}, {"name": "Pat"}]},
    }))

    assert main(["campaign", "check", str(path)]) == 0

    assert capsys.readouterr().out.strip().endswith(
        "30-minute video meetings round-robin on a pool of 2:"
        " Adele on 'outlook:adele', Pat (no calendar)")


def test_an_organisations_pool_books_on_its_own_embedded_calendar() -> None:
    campaign = pool_campaign({"Adele": "local", "Grace": "google:g"})
    scoped = for_organisation(campaign, "org-1")
    assert [m.calendar for m in scoped.booking.pool or []] == ["local:org-1", "google:g", None]


# -- offering and assigning on the emulators ---------------------------------------------------

async def test_a_slot_is_offered_while_one_member_is_free_and_goes_to_that_member(
        database: Database, settings: Settings, refs: dict[str, str],
        emulator: MicrosoftEmulator, google: GoogleEmulator) -> None:
    # Adele (Outlook) and Grace (Google) are both busy 10 to 11; Pat has no calendar.
    emulator.add_event(ADELE, TEN, TEN + HOUR, subject="Dentist")
    google.add_event(GRACE, TEN, TEN + HOUR, summary="Offsite")
    pool = await open_pool(database, settings, pool_campaign(refs))

    assert (await pool.free_slots(NOW, limit=1))[0].start == TEN
    result = await book(pool, TEN, 1)

    assert isinstance(result, Booked) and result.member == "Pat", result
    assert result.online_meeting_url is None  # no calendar, no video link
    assert our_events(emulator, ADELE) == [] and our_events(google, GRACE) == []
    [record] = pool.bookings_for_call("call-1")
    assert (record.member, record.status) == ("Pat", "confirmed")
    # Now nobody is free at 10:00 (nor at 10:30, inside Pat's buffer): 11:00 comes first.
    again = await open_pool(database, settings, pool_campaign(refs))
    assert (await again.free_slots(NOW, limit=1))[0].start == TEN + HOUR


async def test_assignment_rotates_to_the_least_recently_booked_free_member(
        database: Database, settings: Settings, refs: dict[str, str],
        emulator: MicrosoftEmulator, google: GoogleEmulator) -> None:
    google.add_event(GRACE, TEN + 4 * HOUR, TEN + 5 * HOUR, summary="Busy at two")
    members = []
    # Each call opens the pool afresh: who was booked last is read from the database.
    for caller, hours in enumerate([0, 1, 2, 3, 4]):
        pool = await open_pool(database, settings, pool_campaign(refs))
        result = await book(pool, TEN + hours * HOUR, caller)
        assert isinstance(result, Booked), result
        members.append(result.member)

    # Pool order while nobody was booked, then the least recently booked; at 14:00 Grace
    # (least recent) is busy on Google, so Pat (next) gets it.
    assert members == ["Adele", "Grace", "Pat", "Adele", "Pat"]
    adele = our_events(emulator, ADELE)
    assert [e.start for e in adele] == [TEN, TEN + 3 * HOUR]
    assert adele[0].data["attendees"][0]["emailAddress"]["address"] == "caller0@example.org"
    assert adele[0].data["onlineMeeting"]["joinUrl"]  # Adele's work account: a Teams link
    [grace] = our_events(google, GRACE)
    assert grace.start == TEN + HOUR
    assert grace.data["attendees"][0]["email"] == "caller1@example.org"
    assert grace.data["hangoutLink"].startswith("https://meet.google.com/")


async def test_a_member_found_busy_at_the_recheck_is_skipped(
        database: Database, settings: Settings, refs: dict[str, str],
        emulator: MicrosoftEmulator, google: GoogleEmulator) -> None:
    pool = await open_pool(database, settings, pool_campaign(refs))
    # After the call read availability, Adele's 10:00 fills up in Outlook.
    emulator.add_event(ADELE, TEN, TEN + HOUR, subject="Added in Outlook")

    result = await book(pool, TEN, 1)

    assert isinstance(result, Booked) and result.member == "Grace", result
    assert our_events(emulator, ADELE) == []
    [event] = our_events(google, GRACE)
    assert event.start == TEN and result.event_id == event.id


async def test_two_callers_on_one_slot_with_two_free_members_both_book(
        database: Database, settings: Settings, refs: dict[str, str],
        emulator: MicrosoftEmulator, google: GoogleEmulator) -> None:
    emulator.add_event(ADELE, TEN, TEN + HOUR, subject="Dentist")
    first = await open_pool(database, settings, pool_campaign(refs))
    second = await open_pool(database, settings, pool_campaign(refs))

    results = await asyncio.gather(book(first, TEN, 1), book(second, TEN, 2))

    assert all(isinstance(r, Booked) for r in results), results
    assert sorted(r.member for r in results) == ["Grace", "Pat"]
    [event] = our_events(google, GRACE)
    assert event.start == TEN


async def test_two_callers_on_one_slot_with_one_free_member_first_confirm_wins(
        database: Database, settings: Settings, refs: dict[str, str],
        emulator: MicrosoftEmulator, google: GoogleEmulator) -> None:
    emulator.add_event(ADELE, TEN, TEN + HOUR, subject="Dentist")
    google.add_event(GRACE, TEN, TEN + HOUR, summary="Offsite")
    first = await open_pool(database, settings, pool_campaign(refs))
    second = await open_pool(database, settings, pool_campaign(refs))

    results = await asyncio.gather(book(first, TEN, 1), book(second, TEN, 2))

    [won] = [r for r in results if isinstance(r, Booked)]
    [lost] = [r for r in results if isinstance(r, SlotTaken)]
    assert won.member == "Pat"
    assert lost.slot.start == TEN and lost.alternatives
    # The next times anyone is free: Adele and Grace from 11:00, Pat after its buffer.
    assert [a.start for a in lost.alternatives] == [
        TEN + HOUR, TEN + 1.5 * HOUR, TEN + 2 * HOUR]


async def test_a_booking_stays_with_its_member_when_moved_and_cancelled(
        database: Database, settings: Settings, refs: dict[str, str],
        google: GoogleEmulator) -> None:
    pool = await open_pool(database, settings, pool_campaign(refs, ("Grace", "Pat")))
    booked = await book(pool, TEN, 1)
    assert isinstance(booked, Booked) and booked.member == "Grace"

    moved = await pool.move(booked.booking_id, start=TEN + 2 * HOUR, call_id="call-1", now=NOW)
    assert isinstance(moved, Booked) and moved.member == "Grace", moved
    [event] = our_events(google, GRACE)
    assert event.start == TEN + 2 * HOUR
    # Pat has nothing: booking on Pat at 10:00 is still possible for someone else.
    assert isinstance(await book(pool, TEN, 2), Booked)

    cancelled = await pool.cancel(booked.booking_id, call_id="call-1", message="Sorry")
    assert cancelled == Cancelled(booked.booking_id)
    assert our_events(google, GRACE) == []


async def test_a_call_cannot_book_a_second_meeting_on_another_member(
        database: Database, settings: Settings, refs: dict[str, str]) -> None:
    pool = await open_pool(database, settings, pool_campaign(refs))
    first = await book(pool, TEN, 1)
    assert isinstance(first, Booked)

    second = await book(pool, TEN + 2 * HOUR, 1)

    assert isinstance(second, NotAllowed), second
    assert len(pool.bookings_for_call("call-1")) == 1


# -- unusable members ---------------------------------------------------------------------------

async def test_a_member_whose_calendar_fails_is_left_out_with_the_reason_logged(
        database: Database, settings: Settings, refs: dict[str, str],
        google: GoogleEmulator, caplog: pytest.LogCaptureFixture) -> None:
    google.revoke_grant(GRACE)
    google.expire_access_tokens(GRACE)
    caplog.set_level(logging.WARNING)

    pool = await open_pool(database, settings, pool_campaign(refs))

    assert pool.members == ["Adele", "Pat"]
    assert any("'Grace' left out of the call" in r.getMessage() for r in caplog.records)
    result = await book(pool, TEN, 1)
    assert isinstance(result, Booked) and result.member == "Adele"


async def test_with_every_member_unusable_the_call_goes_on_without_booking(
        database: Database, settings: Settings, refs: dict[str, str]) -> None:
    campaign = pool_campaign({"Adele": "outlook:nobody", "Grace": "google:nobody"},
                             ("Adele", "Grace"))
    session = await open_call(
        campaign, caller_number="+12125550100", caller_name="Sam Caller", call_id="call-1",
        now=NOW, database=database, calendar=connect_calendar(campaign, database, settings))

    assert session.booking is None
    reason = session.booking_unavailable_reason or ""
    assert reason.startswith("no member of the booking pool can take bookings (Adele: ")
    assert "Grace: " in reason


async def test_a_calendar_less_members_claim_left_by_a_dead_process_is_released(
        database: Database, settings: Settings) -> None:
    # A process claimed Pat's 10:00 and died before confirming: its caller never heard
    # "booked", so reconciliation releases it (there is no calendar to find an event on).
    store = SqlBookingStore(database, no_calendar_id("team-demos", "Pat"))
    slot = Interval(TEN, TEN + timedelta(minutes=30))
    claim = Claim(id="b-1", call_id="call-1", campaign="team-demos",
                  attendee_email="caller1@example.org", attendee_name=None, subject="Demo",
                  slot=slot, blocked=slot, span=slot, member="Pat")
    assert await store.claim(claim) is None
    with database.session() as session:
        session.execute(update(BookingRow).values(
            updated_at=datetime.now(UTC) - 2 * WRITE_TIMEOUT))

    settled = await settle_claims(database, settings)

    assert (settled.released, settled.postponed) == (1, 0)
    [record] = store.records()
    assert (record.status, record.member) == ("failed", "Pat")


# -- the call says the member's name if the campaign wants ------------------------------------

CALLER = CallerSpec(number="+12125550100", first_name="Sam", last_name="Caller")


@pytest.mark.parametrize("say", [True, False])
async def test_the_confirmation_names_the_member_only_when_the_campaign_says_so(
        database: Database, settings: Settings, refs: dict[str, str],
        emulator: MicrosoftEmulator, say: bool) -> None:
    campaign = pool_campaign(refs, say_member_name=say)

    result, session = await guided_call(database, settings, campaign, BOOKS_THE_FIRST_TIME,
                                        caller=CALLER, now=NOW)

    said = agent_lines(result)
    assert result.outcome == "booked", said
    assert ("Booked for today at 10 AM Eastern with Adele." in said) is say, said
    assert ("Adele" in said) is say
    [booking] = session.bookings()
    assert booking.member == "Adele"
    [event] = our_events(emulator, ADELE)
    assert event.start == TEN


async def test_another_caller_taking_the_offered_time_leaves_it_to_the_next_member(
        database: Database, settings: Settings, refs: dict[str, str],
        emulator: MicrosoftEmulator, google: GoogleEmulator) -> None:
    campaign = pool_campaign(refs, say_member_name=True)

    # While Sam hears the first offer, another caller confirms that same time (on Adele).
    result, session = await guided_call(
        database, settings, campaign, BOOKS_THE_FIRST_TIME, caller=CALLER, now=NOW,
        events=[EventSpec(after_turn=3, concurrent_booking="current")])

    said = agent_lines(result)
    assert "just taken" not in said
    assert "Booked for today at 10 AM Eastern with Grace." in said, said
    [other] = our_events(emulator, ADELE)
    assert other.data["attendees"][0]["emailAddress"]["address"] == "someone.else@example.com"
    [sams] = our_events(google, GRACE)
    assert sams.start == other.start == TEN
    assert sams.data["attendees"][0]["email"] == "sam.caller@example.org"


def test_the_operator_api_refuses_a_broken_pool_by_path(database: Database) -> None:
    made = create_operator(database, "owner@workestra.example", "long enough password",
                           "Workestra")
    _, key = create_api_key(database, made.organisation, "tests")
    app = FastAPI()
    app.mount("/api/v1", create_operator_api(database, Settings(_env_file=None,
                                                                 openai_api_key=None)))
    campaign = {"name": "demos", "business_name": "Workestra", "booking": {
        "enabled": True, "availability": {"timezone": "America/New_York"},
        "pool": [{"name": "Ann"}, {"name": "Ann"}], "say_member_name": "sometimes"}}
    with TestClient(app) as client:
        answer = client.post("/api/v1/campaigns", json=campaign,
                             headers={"Authorization": f"Bearer {key}"})
        listed = client.get("/api/v1/campaigns", headers={"Authorization": f"Bearer {key}"})

    assert answer.status_code == 422
    assert {(p["path"], p["message"]) for p in answer.json()["problems"]} >= {
        ("booking.pool", "two pool members have the same name")}
    assert "booking.say_member_name" in {p["path"] for p in answer.json()["problems"]}
    assert listed.json()["campaigns"] == []


async def test_a_caller_moving_the_meeting_keeps_the_member_and_hears_the_name(
        database: Database, settings: Settings, refs: dict[str, str],
        emulator: MicrosoftEmulator) -> None:
    campaign = pool_campaign(refs, say_member_name=True)

    result, session = await guided_call(database, settings, campaign, [
        *BOOKS_THE_FIRST_TIME[:4],
        "Actually, can we make it Wednesday instead?",
        "Yes, that works.",
        "No, that's all. Thanks!",
    ], caller=CALLER, now=NOW)

    said = agent_lines(result)
    assert "Done, I've moved it to Wednesday, March 6th at 9 AM Eastern, still with Adele." \
        in said, said
    [booking] = session.bookings()
    assert booking.member == "Adele"
    [event] = our_events(emulator, ADELE)
    assert event.start == datetime(2030, 3, 6, 14, 0, tzinfo=UTC)
