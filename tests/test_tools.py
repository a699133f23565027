"""The dialogue tools over the real booking service and the embedded calendar.

A tool never raises on a failed precondition: it says what to say and what to do next. It
never books before the e-mail is confirmed, never books a time it did not offer, and never
moves or cancels a meeting it did not book on this call.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from pipecat.services.llm_service import FunctionCallParams

from agent.call_session import CalendarConnection, CallSession, open_call
from agent.tools import CallTools, ToolResult, function_schemas
from app.bootstrap import connect_calendar
from app.campaign_files import load_campaign
from app.settings import Settings
from calendar_backend.booking import Booked, BookingService
from calendar_backend.booking_settings import Recipient
from calendar_backend.local_calendar import LocalCalendar
from calendar_backend.provider import Attendee
from prompts import line
from storage.database import Database

NOW = datetime(2026, 12, 1, 14, tzinfo=UTC)  # Tuesday, 9 AM in New York
CAMPAIGN = load_campaign("examples/campaigns/demo.yaml")


async def _session(
    database: Database, *, number: str = "+12125550100", call_id: str = "call-1",
    connection: CalendarConnection | None = None,
) -> CallSession:
    calendar = LocalCalendar(database, zone="America/New_York")
    return await open_call(
        CAMPAIGN, caller_number=number, caller_name="Chris Park", call_id=call_id, now=NOW,
        database=database,
        calendar=connection or CalendarConnection(calendar, True),
    )


def _heard(tools: CallTools, said: ToolResult, answer: str = "yes that works") -> None:
    """The agent said a tool's words and the caller answered (what consent is read from)."""
    tools.session.say("agent", said.say)
    tools.session.say("caller", answer)


async def _confirmed(tools: CallTools) -> None:
    _heard(tools, await tools.run("capture_email", {"spoken": "chris at example dot com"}),
           "yes thats right")
    assert (await tools.run("confirm_email", {})).ok


async def _offered(tools: CallTools, preference: str | None = None) -> str:
    """Find slots, say the first, and the caller says yes to it: its slot id."""
    args = {"preference": preference} if preference else {}
    found = await tools.run("find_slots", args)
    first = found.data["slots"][0]
    _heard(tools, ToolResult(True, line("offer_slot", spoken=first["time"])))
    return first["slot_id"]


async def test_email_is_read_back_letter_by_letter(database: Database) -> None:
    tools = CallTools(await _session(database))
    result = await tools.run("capture_email", {"spoken": "chris at example dot com"})
    assert result.ok
    assert "C as in Charlie, H as in Hotel" in result.say
    assert result.say.endswith("Did I get that right?")
    assert tools.session.email == "chris@example.com" and not tools.session.email_confirmed


async def test_unintelligible_email_is_refused_with_what_to_do_next(database: Database) -> None:
    tools = CallTools(await _session(database))
    result = await tools.run("capture_email", {"spoken": "uh I don't know"})
    assert not result.ok
    assert "capture_email" in (result.next or "")
    assert tools.session.email is None


async def test_booking_before_the_email_is_confirmed_is_refused(database: Database) -> None:
    tools = CallTools(await _session(database))
    offers = await tools.run("find_slots", {})
    await tools.run("capture_email", {"spoken": "chris at example dot com"})
    result = await tools.run("book_slot", {"slot_id": offers.data["slots"][0]["slot_id"]})
    assert not result.ok
    assert "not confirmed" in (result.next or "")
    assert "Did I get that right?" in result.say  # the read-back again
    assert tools.session.bookings() == []


async def test_a_time_the_model_typed_is_not_a_slot(database: Database) -> None:
    tools = CallTools(await _session(database))
    await _confirmed(tools)
    await tools.run("find_slots", {})
    result = await tools.run("book_slot", {"slot_id": "2026-12-02T15:00:00Z"})
    assert not result.ok
    assert "find_slots" in (result.next or "")
    assert tools.session.bookings() == []


async def test_offers_are_free_slots_said_in_both_zones(database: Database) -> None:
    LocalCalendar(database, zone="America/New_York").add_busy(
        datetime(2026, 12, 1, 16, tzinfo=UTC), datetime(2026, 12, 1, 17, tzinfo=UTC)
    )
    session = await _session(database, number="+16155550123")  # Nashville: Central
    tools = CallTools(session)
    result = await tools.run("find_slots", {})
    assert result.ok
    free = await session.booking.free_slots(NOW, limit=10)
    offered = [session.offers[s["slot_id"]].slot for s in result.data["slots"]]
    assert offered == free[:3]
    assert offered[0].start == datetime(2026, 12, 1, 17, tzinfo=UTC)  # right after the busy hour
    assert "Eastern, that's" in result.data["slots"][0]["time"]
    assert "your time" in result.data["slots"][0]["time"]


async def test_preference_narrows_the_offer_and_asking_again_gives_the_next(
    database: Database,
) -> None:
    tools = CallTools(await _session(database))
    first = await tools.run("find_slots", {"preference": "Thursday afternoon", "limit": 1})
    assert first.data["slots"][0]["time"] == "Thursday, December 3rd at noon Eastern"
    later = await tools.run("find_slots", {"after_slot_id": first.data["slots"][0]["slot_id"],
                                           "limit": 1})
    assert later.data["slots"][0]["time"] == "Thursday, December 3rd at 12:30 PM Eastern"


async def test_find_slots_asks_for_the_zone_when_the_number_leaves_it_open(
    database: Database,
) -> None:
    tools = CallTools(await _session(database, number="+18885550147"))  # toll-free
    result = await tools.run("find_slots", {})
    assert not result.ok
    assert "set_caller_zone" in (result.next or "")
    zone = await tools.run("set_caller_zone", {"answer": "I'm on Pacific time"})
    assert zone.ok and tools.session.caller_zone == "America/Los_Angeles"
    assert (await tools.run("find_slots", {})).ok


async def test_second_caller_gets_alternatives_when_slot_taken(database: Database) -> None:
    ours = CallTools(await _session(database, call_id="ours"))
    theirs = CallTools(await _session(database, call_id="theirs"))
    for tools in (ours, theirs):
        await _confirmed(tools)
    our_offer = await _offered(ours)
    their_offer = await _offered(theirs)
    assert ours.session.offers[our_offer].slot == theirs.session.offers[their_offer].slot
    assert (await theirs.run("book_slot", {"slot_id": their_offer})).ok
    taken = await ours.run("book_slot", {"slot_id": our_offer})
    assert not taken.ok
    assert "just taken" in taken.say
    alternative = taken.data["slots"][0]["slot_id"]
    # The caller heard "just taken ... I can do <alternative>" and said yes to that.
    _heard(ours, taken)
    assert (await ours.run("book_slot", {"slot_id": alternative})).ok
    assert len(ours.session.bookings()) == 1


async def test_reschedule_and_cancel_touch_only_this_calls_booking(database: Database) -> None:
    # Another call books a meeting; this call cannot move or cancel it.
    other = BookingService.on_database(
        database, LocalCalendar(database, zone="America/New_York"), CAMPAIGN.booking,
        calendar_id="local", campaign_name=CAMPAIGN.name,
    )
    theirs = await other.book(
        start=datetime(2026, 12, 2, 15, tzinfo=UTC), attendee=Attendee(email="x@example.com"),
        recipient=Recipient(first_name="X"), call_id="someone-else", now=NOW,
    )
    assert isinstance(theirs, Booked)
    tools = CallTools(await _session(database, call_id="ours"))
    await _confirmed(tools)
    offer = await _offered(tools)
    moved = await tools.run("reschedule_booking", {"slot_id": offer})
    cancelled = await tools.run("cancel_booking", {})
    assert not moved.ok and not cancelled.ok
    assert [b.status for b in other.bookings_for_call("someone-else")] == ["confirmed"]
    assert other.bookings_for_call("someone-else")[0].slot.start == theirs.slot.start
    # Its own booking it can move, then cancel.
    tools.session.say("caller", "ok yes book that one")
    assert (await tools.run("book_slot", {"slot_id": offer})).ok
    later = await _offered(tools, "Friday morning")
    moved = await tools.run("reschedule_booking", {"slot_id": later})
    assert moved.ok and "moved it to Friday" in moved.say
    assert tools.session.active_booking().slot == tools.session.offers[later].slot
    tools.session.say("caller", "actually please cancel the meeting")
    assert (await tools.run("cancel_booking", {})).ok
    assert [b.status for b in tools.session.bookings()] == ["cancelled"]
    assert [b.status for b in other.bookings_for_call("someone-else")] == ["confirmed"]


async def test_unusable_calendar_means_no_booking_tools(database: Database) -> None:
    session = await _session(
        database, connection=CalendarConnection.unusable("calendar access has expired")
    )
    assert not session.booking_available
    assert session.booking_unavailable_reason == "calendar access has expired"
    tools = CallTools(session)
    assert [schema.name for schema in function_schemas(tools)] == ["end_call"]
    refused = await tools.run("find_slots", {})
    assert not refused.ok and "not available" in (refused.next or "")


async def test_booking_off_in_the_campaign_skips_the_calendar(database: Database) -> None:
    campaign = CAMPAIGN.model_copy(
        update={"booking": CAMPAIGN.booking.model_copy(update={"enabled": False})}
    )
    session = await open_call(
        campaign, caller_number="+12125550100", caller_name=None, call_id="c", now=NOW,
        database=database,
        calendar=connect_calendar(campaign, database, Settings(_env_file=None)),
    )
    assert not session.booking_available
    assert session.outcome == "no_booking_offered"


async def test_unknown_tool_and_bad_arguments_are_refused_not_raised(database: Database) -> None:
    tools = CallTools(await _session(database))
    assert not (await tools.run("transfer_call", {})).ok
    bad = await tools.run("book_slot", {"when": "tomorrow"})
    assert not bad.ok and "bad arguments" in (bad.next or "")
    assert [call["name"] for call in tools.session.tool_calls] == ["transfer_call", "book_slot"]


@pytest.mark.parametrize("name", ["book_slot", "reschedule_booking"])
def test_slot_tools_take_a_slot_id_not_a_time(name: str) -> None:
    session = CallSession(
        campaign=CAMPAIGN, call_id="c", caller_number="", caller_name=None,
        owner_zone="America/New_York", booking=object(),  # type: ignore[arg-type]
    )
    schema = {s.name: s for s in function_schemas(CallTools(session))}[name].to_default_dict()
    assert list(schema["parameters"]["properties"]) == ["slot_id"]
    assert schema["parameters"]["required"] == ["slot_id"]


async def test_a_barge_in_does_not_stop_a_booking_halfway(database: Database) -> None:
    tools = CallTools(await _session(database))
    await _confirmed(tools)
    offer = await _offered(tools)
    results: list[object] = []

    async def result_callback(result: object, **_kwargs: object) -> None:
        results.append(result)

    book = {s.name: s for s in function_schemas(tools)}["book_slot"]
    params = FunctionCallParams(
        function_name="book_slot", tool_call_id="call_1", arguments={"slot_id": offer},
        llm=None, pipeline_worker=None, context=None,  # type: ignore[arg-type]
        result_callback=result_callback,
    )
    running = asyncio.create_task(book.handler(params))
    await asyncio.sleep(0)  # the write has started
    running.cancel()  # what pipecat does to a tool call when the caller barges in
    with pytest.raises(asyncio.CancelledError):
        await running
    for _ in range(500):
        if tools.session.unspoken is not None:
            break
        await asyncio.sleep(0.01)
    assert tools.session.active_booking() is not None
    assert results == []  # the model never got the result...
    assert tools.session.unspoken.startswith("Booked for")  # ...so the words are kept


async def test_an_outlook_calendar_that_is_not_connected_skips_booking(database: Database) -> None:
    campaign = CAMPAIGN.model_copy(
        update={"booking": CAMPAIGN.booking.model_copy(update={"calendar": "outlook:sales"})}
    )
    session = await open_call(
        campaign, caller_number="+12125550100", caller_name=None, call_id="c", now=NOW,
        database=database,
        calendar=connect_calendar(campaign, database, Settings(_env_file=None)),
    )
    assert not session.booking_available
    assert "sales" in (session.booking_unavailable_reason or "")
