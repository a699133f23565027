"""The LLM path: real OpenAILLMService and tool plumbing against the scripted fake server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agent.call_session import CalendarConnection, CallSession, open_call
from agent.pipeline import SAFE_INSTEAD
from agent.time_guard import unvouched_times
from app.campaign_files import load_campaign
from app.harness import CalendarSpec, CallerSpec, CallResult, run_call, scripted_input
from app.settings import Settings
from calendar_backend.interval import Interval
from calendar_backend.local_calendar import LocalCalendar
from storage.database import Database, open_database
from tests.fakes.openai_server import FakeOpenAI

NOW = datetime(2026, 12, 1, 14, tzinfo=UTC)
CAMPAIGN = load_campaign("examples/campaigns/demo.yaml")
CALLER = CallerSpec(number="+12125550100", first_name="Chris")


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path / 'llm.db'}")
    yield database
    database.dispose()


async def _call(
    database: Database, script: list[dict[str, Any]], lines: list[str], *,
    calendar: CalendarSpec | None = None, timeout: float = 2.0,
) -> tuple[CallResult, FakeOpenAI]:
    with FakeOpenAI(script, hang_seconds=10) as fake:
        settings = Settings(
            _env_file=None, openai_api_key="test", openai_base_url=fake.url,
            llm_timeout_seconds=timeout,
        )
        result, _ = await run_call(
            CAMPAIGN, database=database, settings=settings, caller=CALLER,
            next_line=scripted_input(lines), now=NOW, calendar=calendar, policy="llm",
        )
    return result, fake


def _agent(result: CallResult) -> list[str]:
    return [t["text"] for t in result.transcript if t["role"] == "agent"]


async def test_a_time_the_model_invents_is_refused_and_nothing_is_booked(
    sqlite: Database,
) -> None:
    script = [
        {"tool": "capture_email", "args": {"spoken": "chris at example dot com"}},
        {"text_from_tool": True},
        {"tool": "confirm_email"},
        {"tool": "book_slot", "args": {"slot_id": "Wednesday at 3 PM"}},
        {"text_from_tool": True},
    ]
    result, fake = await _call(
        sqlite, script, ["chris at example dot com", "yes that's right, wednesday at 3"])
    assert [c["result"]["ok"] for c in result.tool_calls if c["name"] == "confirm_email"] == [
        True]
    book = [c for c in result.tool_calls if c["name"] == "book_slot"][0]
    assert not book["result"]["ok"]
    assert "find_slots" in book["result"]["next"]
    assert result.bookings == []
    # The refusal went back to the model as the tool result, in the real context.
    tool_messages = [m for m in fake.requests[-1]["messages"] if m["role"] == "tool"]
    assert '"ok": false' in tool_messages[-1]["content"]


async def test_the_model_cannot_confirm_an_address_the_caller_never_heard(
    sqlite: Database,
) -> None:
    # Capture and confirm in one response: the read-back was never said, so no confirmation.
    script = [
        {"tool": "capture_email", "args": {"spoken": "chris at example dot com"}},
        {"tool": "confirm_email"},
        {"text_from_tool": True},
    ]
    result, _ = await _call(sqlite, script, ["chris at example dot com, and yes that's right"])
    confirm = [c for c in result.tool_calls if c["name"] == "confirm_email"][0]
    assert not confirm["result"]["ok"] and "read the address back" in confirm["result"]["next"]
    assert "Did I get that right?" in _agent(result)[-1]


async def test_the_model_cannot_book_before_the_email_is_confirmed(sqlite: Database) -> None:
    script = [
        {"tool": "find_slots"},
        {"text_from_tool": True},
        {"tool": "capture_email", "args": {"spoken": "chris at example dot com"}},
        {"tool": "book_slot", "args": {"slot_id": "$slot:1"}},
        {"text_from_tool": True},
    ]
    result, _ = await _call(sqlite, script, ["when can we meet?", "chris at example dot com"])
    book = [c for c in result.tool_calls if c["name"] == "book_slot"][0]
    assert not book["result"]["ok"] and "not confirmed" in book["result"]["next"]
    assert result.bookings == []
    assert "Did I get that right?" in _agent(result)[-1]


async def test_an_empty_model_answer_is_not_dead_air(sqlite: Database) -> None:
    # The model's calls open without the offer; the guided policy taking over makes it.
    result, _ = await _call(sqlite, [{"text": ""}], ["yes please", "sure"])
    agent = _agent(result)
    assert agent[0].endswith("Do you have a couple of minutes?")
    assert agent[1].endswith("Would you like to set up a 30-minute video call?")
    assert agent[2] == "Great. What's your e-mail address?"


async def test_words_of_a_tool_that_ran_are_said_when_the_model_then_fails(
    sqlite: Database,
) -> None:
    script = [
        {"tool": "capture_email", "args": {"spoken": "chris at example dot com"}},
        {"text_from_tool": True},
        {"tool": "confirm_email"},
        {"tool": "find_slots"},
        {"text_from_tool": True},
        {"tool": "book_slot", "args": {"slot_id": "$slot:1"}},
        {"fail": 500},  # the follow-up that would have said "Booked ..."
    ]
    result, _ = await _call(
        sqlite, script,
        ["chris at example dot com", "yes that's right", "the first one", "no, bye"],
    )
    agent = _agent(result)
    assert agent[3].startswith("Booked for today at 11 AM Eastern.")
    assert agent[4].endswith("Goodbye!")
    assert result.llm_fallbacks == 1
    assert result.outcome == "booked"


async def test_without_a_usable_calendar_the_model_gets_no_booking_tools(
    sqlite: Database,
) -> None:
    result, fake = await _call(
        sqlite, [{"text": "Thanks for your time."}, {"tool": "end_call"}], ["ok", "bye"],
        calendar=CalendarSpec(connection="expired"),
    )
    request = fake.requests[0]
    assert [t["function"]["name"] for t in request["tools"]] == ["end_call"]
    assert "Booking is not available on this call" in request["messages"][0]["content"]
    assert result.outcome == "no_booking_offered"


async def test_end_call_says_goodbye_and_ends_the_pipeline(sqlite: Database) -> None:
    result, fake = await _call(sqlite, [{"tool": "end_call"}], ["no thanks, bye", "hello?"])
    assert _agent(result)[-1] == "Thanks, Chris. Have a great day. Goodbye!"
    assert [t["text"] for t in result.transcript if t["role"] == "caller"] == ["no thanks, bye"]
    assert len(fake.requests) == 1  # run_llm=False: no second inference after end_call


async def test_a_time_the_model_says_on_its_own_never_reaches_the_caller(
    sqlite: Database,
) -> None:
    script = [
        {"text": "Sure. How about Wednesday at 3 PM? Or maybe three o'clock Thursday."},
        {"tool": "find_slots"},
        {"text_from_tool": True},
    ]
    result, _ = await _call(sqlite, script, ["do you have anything?", "what else?"])
    agent = _agent(result)
    assert agent[1] == f"Sure. {SAFE_INSTEAD}"
    assert "3 PM" not in " ".join(agent) and "three o'clock" not in " ".join(agent)
    # Times the tools gave pass untouched.
    assert agent[2].startswith("I have today at 11 AM Eastern")


async def _offered_11_am(database: Database) -> CallSession:
    """A Chicago caller offered today at 11 AM Eastern (10 AM theirs), booked nothing yet."""
    session = await open_call(
        CAMPAIGN, caller_number="+13125550100", caller_name="Chris", call_id="guard", now=NOW,
        database=database,
        calendar=CalendarConnection(LocalCalendar(database, zone="America/New_York"), True),
    )
    slot = Interval(datetime(2026, 12, 1, 16, tzinfo=UTC), datetime(2026, 12, 1, 16, 30,
                                                                     tzinfo=UTC))
    session.offer(slot, "today at 11 AM Eastern, that's 10 AM your time")
    session.say("caller", "could you call me back at 3 if this doesnt work")
    return session


@pytest.mark.parametrize(
    ("sentence", "invented"),
    [
        ("I can do 11 AM Eastern.", []),
        ("I can do 11:00 AM Eastern.", []),
        ("How about eleven in the morning?", []),
        ("That's 10 a.m. your time.", []),
        ("Today at 11 works for me.", []),
        ("How about 1 PM?", ["1 pm"]),  # "11 AM" does not vouch for "1 PM"
        ("Or two p.m.?", ["2 pm"]),
        ("Shall we say 14:00?", ["14:00"]),
        ("Tomorrow at 11 AM Eastern?", ["11 am"]),  # right clock, wrong day
        ("Wednesday at 11 AM?", ["11 am"]),
        ("We can call you back at 3 PM.", []),  # the caller named it
        ("Your e-mail is j at example dot com.", []),
    ],
)
async def test_any_rendering_of_an_offered_time_passes_and_others_are_caught(
    sqlite: Database, sentence: str, invented: list[str],
) -> None:
    assert unvouched_times(sentence, await _offered_11_am(sqlite)) == invented


async def test_an_opt_out_on_the_llm_path_is_recorded_by_the_code(sqlite: Database) -> None:
    script = [{"text": "I'm sorry, we won't call you again. Goodbye."}, {"tool": "end_call"}]
    result, _ = await _call(sqlite, script, ["please dont call me again"])
    assert result.do_not_call and not result.call_back_requested
    assert result.bookings == []


async def test_a_call_back_request_on_the_llm_path_is_recorded_with_its_time(
    sqlite: Database,
) -> None:
    script = [{"text": "Of course, we'll call you back then. Bye."}, {"tool": "end_call"}]
    result, _ = await _call(sqlite, script, ["im driving can you call me back tomorrow morning"])
    assert result.call_back_requested and result.call_back_when == "tomorrow morning"
