"""The guided policy runs seed 002's booking conversation without any LLM."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.call_session import CalendarConnection, CallSession, open_call
from agent.guided_policy import GuidedPolicy
from app.campaign_files import load_campaign
from calendar_backend.booking import BookingRecord
from calendar_backend.interval import Interval
from calendar_backend.local_calendar import LocalCalendar
from calendar_backend.slots import SlotRules, is_offerable
from storage.database import Database, open_database

NOW = datetime(2026, 12, 1, 14, tzinfo=UTC)  # Tuesday, 9 AM in New York
CAMPAIGN = load_campaign("examples/campaigns/demo.yaml")
BUSY = [Interval(datetime(2026, 12, 1, 16, tzinfo=UTC), datetime(2026, 12, 1, 18, tzinfo=UTC))]


async def _policy(database: Database, number: str = "+12125550100") -> GuidedPolicy:
    calendar = LocalCalendar(database, zone="America/New_York")
    for busy in BUSY:
        calendar.add_busy(busy.start, busy.end)
    session = await open_call(
        CAMPAIGN, caller_number=number, caller_name="Robin", call_id="call-1", now=NOW,
        database=database,
        calendar=CalendarConnection(calendar, True),
    )
    return GuidedPolicy(session)


async def _turn(policy: GuidedPolicy, text: str) -> str:
    """One caller turn as the pipeline runs it: heard, answered, said (the transcript is what
    the consent checks read)."""
    policy.session.say("caller", text)
    reply = (await policy.respond(text)).text
    policy.session.say("agent", reply)
    return reply


def _greet(policy: GuidedPolicy) -> str:
    greeting = policy.greeting().text
    policy.session.say("agent", greeting)
    return greeting


async def _talk(policy: GuidedPolicy, *lines: str, interested: bool = True) -> list[str]:
    """The agent's lines: the opening, then its answer to each caller line.

    ``interested``: the caller first says "sure, tell me more" at the opener, so ``lines``
    pick up at the meeting offer (said[0] is the opening and the pitch together).
    """
    said = [_greet(policy)]
    if interested:
        said[0] += " " + await _turn(policy, "sure, tell me more")
    for text in lines:
        said.append(await _turn(policy, text))
    return said


async def test_offers_the_earliest_free_slot_then_the_next_when_declined(
    database: Database,
) -> None:
    policy = await _policy(database)
    said = await _talk(
        policy, "yes", "robin at example dot com", "yes", "not really", "nah, something else?"
    )
    assert said[3] == "Thanks, got it. I can do today at 1 PM Eastern. Does that work?"
    assert said[4] == "I can do today at 1:30 PM Eastern. Does that work?"
    assert said[5] == "I can do today at 2 PM Eastern. Does that work?"
    assert policy.session.bookings() == []


async def test_a_time_asked_for_before_the_email_is_kept_for_the_offer(
    database: Database,
) -> None:
    policy = await _policy(database)
    said = await _talk(
        policy, "Sure, do you have anything Thursday afternoon?", "robin at example dot com",
        "yes that's right",
    )
    assert said[1] == "Great. What's your e-mail address?"
    assert said[3] == (
        "Thanks, got it. I can do Thursday, December 3rd at noon Eastern. Does that work?"
    )


async def test_a_single_candidate_zone_is_stated_and_the_caller_may_correct_it(
    database: Database,
) -> None:
    policy = await _policy(database, number="+16155550123")  # Nashville: Central
    said = await _talk(
        policy, "ok", "robin at example dot com", "yep", "Actually I'm on Pacific time",
        "yes", "no that's all",
    )
    assert "that's noon your time" in said[3]
    assert said[4] == (
        "Got it, Pacific. I can do today at 1 PM Eastern, that's 10 AM your time. Does that work?"
    )
    assert said[5].startswith("Booked for today at 1 PM Eastern, that's 10 AM your time.")
    assert said[6].endswith("Goodbye!")
    assert policy.session.outcome == "booked"


async def test_a_caller_not_interested_is_let_go_politely_as_declined(
    database: Database,
) -> None:
    policy = await _policy(database)
    said = await _talk(policy, "no thanks im not interested", interested=False)
    assert said[1] == "No problem at all. Thanks, Robin. Have a great day. Goodbye!"
    assert policy.session.ended and policy.session.outcome == "declined"
    assert not policy.session.do_not_call


async def test_a_caller_who_asks_not_to_be_called_again_is_recorded_and_let_go(
    database: Database,
) -> None:
    policy = await _policy(database)
    said = await _talk(policy, "I'm not interested, please take me off your list")
    assert said[1].startswith("Understood. I'll make sure Northwind Consulting doesn't call")
    assert said[1].endswith("Goodbye!")
    assert policy.session.do_not_call and policy.session.ended
    assert policy.session.bookings() == []


async def test_a_caller_who_asks_what_hears_the_question_again(database: Database) -> None:
    policy = await _policy(database)
    said = await _talk(policy, "sorry what")
    assert said[1] == "Of course. Would you like to set up a 30-minute video call?"


async def test_unclear_answers_get_the_question_again(database: Database) -> None:
    policy = await _policy(database)
    said = await _talk(policy, "hmm")
    assert said[1] == (
        "Sorry, I didn't quite catch that. Would you like to set up a 30-minute video call?"
    )


async def test_a_no_without_a_correction_asks_for_the_email_again(database: Database) -> None:
    policy = await _policy(database)
    said = await _talk(policy, "yes", "rob at example dot com", "no that's wrong")
    assert said[3] == "Sorry about that. Could you say your e-mail address again, slowly?"
    assert not policy.session.email_confirmed


async def test_cancel_after_booking_cancels_this_calls_meeting(database: Database) -> None:
    policy = await _policy(database)
    said = await _talk(
        policy, "yes", "robin at example dot com", "yes", "yes", "actually, please cancel it"
    )
    assert said[4].startswith("Booked for")
    assert said[5].startswith("Okay, I've cancelled that meeting.")
    assert [b.status for b in policy.session.bookings()] == ["cancelled"]
    assert policy.session.outcome == "cancelled"


async def test_taking_over_mid_call_resumes_from_the_calls_state(database: Database) -> None:
    # The LLM had read the e-mail back; the guided policy continues at the confirmation.
    policy = await _policy(database)
    captured = await policy.tools.run("capture_email", {"spoken": "robin at example dot com"})
    policy.session.say("agent", captured.say)  # the LLM read it back
    policy.resume()
    reply = await _turn(policy, "yes that's right")
    assert reply == "Thanks, got it. I can do today at 1 PM Eastern. Does that work?"


UTTERANCES = st.sampled_from([
    "yes", "sure", "no", "nope", "robin at example dot com", "no, it's r o b at example dot com",
    "something later?", "Thursday afternoon?", "Central", "actually can we make it Friday",
    "cancel it", "what?", "yes, book it", "that's all, bye", "I'm not interested",
])


def _run_session(lines: list[str]) -> tuple[CallSession, list[str], list[BookingRecord]]:
    async def go(database: Database) -> tuple[CallSession, list[str]]:
        policy = await _policy(database, number="+18885550147")
        said = [_greet(policy)]
        for text in lines:
            if policy.session.ended:
                break
            said.append(await _turn(policy, text))
        return policy.session, said

    with tempfile.TemporaryDirectory() as tmp:
        database = open_database(f"sqlite:///{Path(tmp) / 'p.db'}")
        try:
            session, said = asyncio.run(go(database))
            bookings = session.bookings()  # read while the database is open
        finally:
            database.dispose()
    return session, said, bookings


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(UTTERANCES, min_size=1, max_size=12))
def test_whatever_the_caller_says_no_invented_time_and_no_unconfirmed_booking(
    lines: list[str],
) -> None:
    session, said, bookings = _run_session(lines)
    assert all(text.strip() for text in said)
    rules = SlotRules.from_settings(CAMPAIGN.booking)
    # Every time ever offered was offerable and clear of the calendar's events when offered.
    for offered in session.offers.values():
        assert is_offerable(rules, offered.slot.start, BUSY, NOW)
    # Every booking came after the e-mail on it was read back and confirmed.
    confirmed_email = None
    for call in session.tool_calls:
        if call["name"] == "capture_email" and call["result"]["ok"]:
            confirmed_email = None
        if call["name"] == "confirm_email" and call["result"]["ok"]:
            confirmed_email = call["result"]["email"]
        if call["name"] == "book_slot" and call["result"]["ok"]:
            assert confirmed_email is not None
    for booking in bookings:
        assert booking.attendee_email == confirmed_email or booking.status == "cancelled"


async def test_keeping_the_original_time_after_asking_to_move(database: Database) -> None:
    policy = await _policy(database)
    said = await _talk(
        policy, "yes", "robin at example dot com", "yes", "yes", "can we do Friday instead?",
        "no, never mind, keep the original",
    )
    assert said[5].startswith("I can do Friday")
    assert said[6] == (
        "No problem, it stays as booked: today at 1 PM Eastern. "
        "Is there anything else I can help you with?"
    )
    assert policy.session.active_booking().slot.start == datetime(2026, 12, 1, 18, tzinfo=UTC)


async def test_after_three_unclear_addresses_a_human_follows_up(database: Database) -> None:
    policy = await _policy(database)
    said = await _talk(policy, "yes", "uh", "hmm, well", "I don't know")
    assert said[4].startswith("I'm sorry, I'm having trouble catching the address.")
    assert policy.session.bookings() == []


async def test_who_is_this_is_answered_then_the_question_asked_again(
    database: Database,
) -> None:
    policy = await _policy(database)
    said = await _talk(policy, "Sorry, who is this?")
    assert said[1] == (
        "This is Alex, an AI assistant calling for Northwind Consulting. "
        "Would you like to set up a 30-minute video call?"
    )


async def test_anything_earlier_offers_the_closest_earlier_time(database: Database) -> None:
    policy = await _policy(database)
    said = await _talk(
        policy, "yes", "robin at example dot com", "yes", "what about 3 PM?", "anything earlier?"
    )
    assert said[4] == "I can do today at 3 PM Eastern. Does that work?"
    assert said[5] == "I can do today at 2:30 PM Eastern. Does that work?"


async def test_a_goodbye_ends_the_call_at_any_step(database: Database) -> None:
    policy = await _policy(database, number="+18885550147")
    said = await _talk(policy, "yes", "robin at example dot com", "yes", "sorry, I have to go, bye")
    assert said[4].endswith("Goodbye!")
    assert policy.session.ended and policy.session.outcome == "declined"


async def test_turning_down_a_day_while_naming_another_offers_that_day(
    database: Database,
) -> None:
    policy = await _policy(database)
    said = await _talk(
        policy, "yes", "robin at example dot com", "yes",
        "I don't want today, do you have Wednesday?",
    )
    assert said[4] == "I can do tomorrow at 9 AM Eastern. Does that work?"
    assert not policy.session.ended


async def test_a_time_offered_before_can_still_be_asked_for(database: Database) -> None:
    policy = await _policy(database)
    said = await _talk(
        policy, "yes", "robin at example dot com", "yes", "something later?",
        "hmm, 1 PM is fine after all", "yes",
    )
    assert said[4] == "I can do today at 1:30 PM Eastern. Does that work?"
    assert said[5] == "I can do today at 1 PM Eastern. Does that work?"
    assert said[6].startswith("Booked for today at 1 PM Eastern.")


async def test_yes_naming_the_offered_day_books_it(database: Database) -> None:
    policy = await _policy(database)
    said = await _talk(
        policy, "yes", "robin at example dot com", "yes", "what about Wednesday?",
        "yes, Wednesday works",
    )
    assert said[4] == "I can do tomorrow at 9 AM Eastern. Does that work?"
    assert said[5].startswith("Booked for tomorrow at 9 AM Eastern.")


async def test_a_one_letter_correction_repairs_the_address_and_rereads_the_change(
    database: Database,
) -> None:
    policy = await _policy(database)
    said = await _talk(policy, "sure", "jon dot smith at gmail dot com", "no its john with an h")
    assert said[3].startswith("Thanks, that's J as in Juliet, O as in Oscar, H as in Hotel, N as")
    assert "So the whole address is" in said[3] and said[3].endswith("Is that right?")
    assert policy.session.email == "john.smith@gmail.com" and not policy.session.email_confirmed


async def test_a_domain_correction_keeps_the_name_and_changes_only_the_domain(
    database: Database,
) -> None:
    policy = await _policy(database)
    said = await _talk(policy, "yes", "robin at gmail dot com", "no its at outlook dot com")
    assert said[3].startswith("Thanks, that's outlook dot com.")
    assert policy.session.email == "robin@outlook.com"


async def test_an_address_given_across_two_turns_is_joined(database: Database) -> None:
    policy = await _policy(database)
    said = await _talk(policy, "yes", "its robin dot park", "at example dot com")
    assert "at" in said[2] and "heard" not in said[2]
    assert policy.session.email == "robin.park@example.com"
    assert said[3].startswith("Let me read that back: R as in Romeo")


async def test_what_the_parser_could_not_make_out_is_never_read_to_the_caller(
    database: Database,
) -> None:
    policy = await _policy(database)
    said = await _talk(policy, "yes", "robin at gmail", "uh it is robin at")
    assert all("heard" not in line and "no dot" not in line for line in said)
