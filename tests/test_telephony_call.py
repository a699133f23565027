"""Whole phone calls on loopback, in real time, with real audio.

Twilio's signed webhook → TwiML → the caller opens the media stream → greeting → the
caller speaks (espeak-ng, 8 kHz μ-law) → pocketsphinx → the dialogue books on the embedded
calendar → the confirmation is spoken (espeak-ng) → goodbye → the agent hangs up through
the Twilio emulator → the call record holds the transcript and the booking.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest
from fastapi import WebSocket

from agent.call_session import CalendarConnection
from app.bootstrap import phone_setup
from app.call_server import CampaignDirectory, create_app
from app.campaign_files import parse_campaign
from app.settings import Settings
from calendar_backend.local_calendar import LocalCalendar
from caller_language.understanding import read
from storage.booking_tables import BookingRow, LocalEventRow
from telephony.call_records import get_call
from telephony.metrics import ServerMetrics
from telephony.phone_pipeline import FILLER, AdmittedCall, run_call
from telephony.stt_pocketsphinx import build_language_model
from tests.fakes.loopback import BackgroundServer, free_port
from tests.fakes.media_caller import MediaCaller, transcribe_ulaw
from tests.fakes.twilio_server import TwilioEmulator, parse_stream_twiml

CAMPAIGN = parse_campaign({
    "name": "spring-outreach", "business_name": "Northwind", "agent_name": "Alex",
    "purpose": "a short intro call", "phone_numbers": ["+14155550100"],
    "booking": {
        "enabled": True, "calendar": "local", "meeting_length_minutes": 30,
        "availability": {"timezone": "America/New_York", "days": ["mon", "tue", "wed", "thu",
                                                                   "fri"],
                         "start": "09:00", "end": "17:00"},
        "minimum_notice_minutes": 120,
    },
})
CALLER = "+12125550123"  # New York: the caller's zone is known from the number
NOW = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)  # a Tuesday, 9 AM in New York
# What the caller says, one line per turn; each is in the recogniser's booking model.
SCRIPT = ["yes that works", "john at example dot com", "yes that is correct",
          "yes that works", "no thank you goodbye"]


class PhoneLine:
    """The call server (real pipeline), the Twilio emulator, and a way to place calls."""

    def __init__(self, database, *, policy: str | None = None, calendar=None,
                 directory: CampaignDirectory | None = None, call_ended=None,
                 **overrides) -> None:
        self.twilio = TwilioEmulator().start()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.settings = Settings(
            _env_file=None, public_url=self.url, twilio_account_sid=self.twilio.account_sid,
            twilio_auth_token=self.twilio.auth_token, twilio_api_url=self.twilio.base_url,
            **overrides)
        self.database = database
        self.metrics = ServerMetrics()
        self.calls: list[asyncio.Task] = []

        async def handler(websocket: WebSocket, call: AdmittedCall) -> None:
            await run_call(websocket, call,
                           setup=phone_setup(self.settings, database, call_ended=call_ended),
                           database=database,
                           metrics=self.metrics, now=NOW, policy=policy,
                           calendar=calendar)

        app = create_app(campaigns=directory or CampaignDirectory([CAMPAIGN]),
                         twilio=self.settings.twilio(),
                         database=database, handler=handler, metrics=self.metrics)
        self.server = BackgroundServer(app, self.port, "call-server").start()

    async def dial_in(self) -> MediaCaller:
        """Ring the server as Twilio would and open the stream its TwiML names."""
        sid, twiml, status = await self.twilio.ring("+14155550100", CALLER,
                                                    f"{self.url}/twilio/voice")
        assert status == 200
        stream = parse_stream_twiml(twiml)
        assert stream is not None
        return MediaCaller(stream.url, custom_parameters=stream.parameters, call_sid=sid,
                           account_sid=self.twilio.account_sid)

    def stop(self) -> None:
        self.server.stop()
        self.twilio.stop()


@pytest.fixture
def line(database):
    phone = PhoneLine(database)
    yield phone
    phone.stop()


async def _converse(caller: MediaCaller, script: list[str]) -> list[bytes]:
    """Greeting, then each scripted line and the agent's answer; the agent's turns."""
    turns = [await caller.wait_for_agent_turn(0.0, quiet=1.2, timeout=20)]
    for text in script:
        said_at = await caller.say(text)
        turns.append(await caller.wait_for_agent_turn(said_at, quiet=1.2, timeout=25))
    return turns


async def _record_when_done(database, sid: str, timeout: float = 10.0):
    for _ in range(int(timeout / 0.1)):
        record = get_call(database, sid)
        if record is not None and record.outcome is not None:
            return record
        await asyncio.sleep(0.1)
    raise AssertionError("the call record was never completed")


async def test_inbound_call_books_a_meeting_by_voice_and_hangs_up(line):
    async with await line.dial_in() as caller:
        turns = await _converse(caller, SCRIPT)
        await asyncio.wait_for(caller.closed.wait(), 15)  # the agent ends the call
    record = await _record_when_done(line.database, caller.call_sid)

    assert caller.call_sid in line.twilio.hangups()
    said = [t["text"] for t in record.transcript if t["role"] == "caller"]
    assert len(said) == len(SCRIPT)
    assert said[1] == "john at example dot com"
    # What the recogniser heard means what the caller said (as the dialogue reads it).
    assert all(read(line).yes for line in (said[0], said[2], said[3]))
    assert read(said[4]).no or read(said[4]).goodbye
    assert record.outcome == "booked"
    assert [(b["status"], b["attendee_email"]) for b in record.bookings] == [
        ("confirmed", "john@example.com")]
    assert [c["name"] for c in record.tool_calls] == [
        "capture_email", "confirm_email", "find_slots", "book_slot"]
    # The confirmation was spoken: the agent's audio of that turn says "booked".
    agent_lines = [t["text"] for t in record.transcript if t["role"] == "agent"]
    model = build_language_model(agent_lines)
    assert "booked" in transcribe_ulaw(turns[4], model)
    assert len(record.turn_latencies) >= len(SCRIPT) - 1
    assert all(t["total_ms"] < 3000 for t in record.turn_latencies)


class SlowCalendar(LocalCalendar):
    """The embedded calendar, taking its time to write an event (like a slow Outlook)."""

    async def create_event(self, event):  # noqa: ANN001, ANN201
        await asyncio.sleep(4.0)
        return await super().create_event(event)


async def test_slow_booking_gets_a_filler_and_survives_the_caller_hanging_up(database):
    calendar = SlowCalendar(database, calendar_id="local", zone="America/New_York")
    phone = PhoneLine(database, calendar=CalendarConnection(calendar, True))
    try:
        async with await phone.dial_in() as caller:
            await _converse(caller, SCRIPT[:3])
            said_at = await caller.say("yes that works")
            # The filler plays while the calendar write is under way: hang up on it.
            filler = await caller.wait_for_agent_audio(said_at, 1.5, timeout=10)
        record = await _record_when_done(database, caller.call_sid, timeout=25)
    finally:
        phone.stop()
    model = build_language_model([FILLER])
    assert "moment" in transcribe_ulaw(filler, model)
    with database.session() as session:
        bookings = session.query(BookingRow).all()
        events = session.query(LocalEventRow).all()
    # The write the caller asked for was finished, not cut in half: confirmed, on the calendar.
    assert [b.status for b in bookings] == ["confirmed"] and len(events) == 1
    assert [b["status"] for b in record.bookings] == ["confirmed"]


async def test_silent_caller_is_hung_up_on(database):
    phone = PhoneLine(database, silence_timeout_seconds=3.0)
    try:
        async with await phone.dial_in() as caller:
            await asyncio.wait_for(caller.closed.wait(), 30)
        assert caller.call_sid in phone.twilio.hangups()
    finally:
        phone.stop()



LLM_SCRIPT = [
    {"text": "Great. What's your e-mail address?"},
    {"tool": "capture_email", "args": {"spoken": "john at example dot com"}},
    {"text_from_tool": True},
    {"tool": "confirm_email"},
    # One time, so the caller's "yes that works" says which (to three, it would not).
    {"tool": "find_slots", "args": {"preference": "11 AM"}},
    {"text_from_tool": True},
    {"tool": "book_slot", "args": {"slot_id": "$slot:1"}},
    {"text_from_tool": True},
    {"tool": "end_call"},
]


async def test_inbound_call_books_with_the_llm_policy(database):
    from tests.fakes.openai_server import FakeOpenAI

    with FakeOpenAI(LLM_SCRIPT) as llm:
        phone = PhoneLine(database, policy="llm", openai_api_key="test-key",
                          openai_base_url=llm.url, stt_provider="pocketsphinx",
                          tts_provider="espeak")
        try:
            async with await phone.dial_in() as caller:
                await _converse(caller, SCRIPT)
                await asyncio.wait_for(caller.closed.wait(), 15)
            record = await _record_when_done(database, caller.call_sid)
        finally:
            phone.stop()
    assert caller.call_sid in phone.twilio.hangups()
    assert record.outcome == "booked"
    assert [b["status"] for b in record.bookings] == ["confirmed"]
    assert [c["name"] for c in record.tool_calls] == [
        "capture_email", "confirm_email", "find_slots", "book_slot", "end_call"]
    # The model saw what the caller said, as the recogniser heard it.
    heard = [m["content"] for m in llm.requests[1]["messages"] if m["role"] == "user"]
    assert heard[-1] == "john at example dot com"


async def test_caller_talking_over_the_agent_clears_twilios_buffer(line):
    async with await line.dial_in() as caller:
        await caller.wait_for_agent_audio(0.0, 1.5)  # the greeting is under way
        speaking_from = time.monotonic()
        said_at = await caller.say("yes that works")
        answer = await caller.wait_for_agent_turn(said_at, quiet=1.2, timeout=20)
    assert caller.clears, "the agent never sent Twilio a clear"
    cleared = caller.clears[0]
    assert speaking_from < cleared < said_at
    # After the clear the greeting stops: nothing until the answer to what the caller said.
    silent = [p for p in caller.received if cleared + 0.1 < p.at < said_at + 0.3]
    assert silent == []
    assert len(answer) > 8000  # then the agent answers (more than a second of audio)
