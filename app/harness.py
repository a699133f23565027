"""The test-call harness: the real dialogue and the real booking code, with text for speech.

A scenario file (YAML) names the campaign, the call's clock, the caller, the embedded calendar's
existing events (or ``use: campaign``: the campaign's own calendar, e.g. an Outlook connection),
the policy, what the caller says, and optional events (another caller booking the offered slot
first), scripted LLM turns for the fake OpenAI server, and expectations. The call runs through
the same pipecat pipeline as a phone call, minus STT/TTS and the transport.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pipecat.frames.frames import EndFrame, LLMMessagesAppendFrame, LLMRunFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.turns.user_turn_strategies import ExternalUserTurnStrategies
from pipecat.workers.runner import WorkerRunner
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from agent.call_session import CalendarConnection, CallSession
from agent.campaign import Campaign
from agent.pipeline import build_dialogue, open_call
from app.bootstrap import connect_calendar, for_organisation, settle_claims
from app.campaign_files import load_campaign, parse_campaign
from app.input_files import InputError, Instant, parse_yaml, read_text, within_reach
from app.settings import Settings
from app.validation import validation_problems
from calendar_backend.booking import BookingService
from calendar_backend.booking_settings import Recipient
from calendar_backend.local_calendar import LocalCalendar
from calendar_backend.pool import AnyBookingService, PoolBookingService
from calendar_backend.provider import Attendee
from storage.database import Database, open_database

# How long one agent turn may take before the harness gives up on it (a hung pipeline).
TURN_LIMIT_SECONDS = 60.0


class ScenarioInvalid(ValueError):
    """A scenario file that cannot be run, with the reason."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CallerSpec(_Strict):
    """Who calls: their number (decides the zone guess) and name."""

    number: str = ""
    first_name: str | None = None
    last_name: str | None = None


class BusySpec(_Strict):
    """An existing event on the embedded calendar."""

    start: Instant
    end: Instant
    subject: str = "Busy"


class CalendarSpec(_Strict):
    """The calendar this run books on.

    ``embedded`` (the default): a fresh embedded calendar with ``busy`` events, its connection
    ``ok`` or ``expired``. ``campaign``: the calendar the campaign's ``booking.calendar`` names,
    opened as a live call opens it (e.g. ``outlook:<name>``, connected beforehand with
    ``booking-agent outlook connect``); its events and its connection's health are the real ones.
    """

    use: Literal["embedded", "campaign"] = "embedded"
    busy: list[BusySpec] = Field(default_factory=list)
    connection: Literal["ok", "expired"] = "ok"

    @model_validator(mode="after")
    def _embedded_only(self) -> CalendarSpec:
        if self.use == "campaign" and (self.busy or self.connection != "ok"):
            raise ValueError("busy and connection describe the embedded calendar; the "
                             "campaign's own calendar has its own events and health")
        return self


class EventSpec(_Strict):
    """Something that happens after the agent answered caller line ``after_turn`` (1-based)."""

    after_turn: int = Field(ge=0)
    # Another caller books a slot offered on this call first, through the real BookingService:
    # "current" is the slot on offer now, an integer the n-th slot offered on this call.
    concurrent_booking: Annotated[int, Field(ge=1)] | Literal["current"] = "current"


class LLMStep(_Strict):
    """One scripted answer of the fake OpenAI server (see tests/fakes/openai_server.py)."""

    text: str | None = None
    text_from_tool: bool = False
    tool: str | None = None
    args: dict[str, Any] = Field(default_factory=dict)
    fail: Literal[500, "timeout"] | None = None


class AnswerExpect(_Strict):
    """What the agent's answer to one caller line (``to_line``, 1-based) must (not) say."""

    to_line: int = Field(ge=1)
    phrases: list[str] = Field(default_factory=list)
    absent_phrases: list[str] = Field(default_factory=list)


class Expect(_Strict):
    """What the scenario's test checks; :meth:`check` lists what the call did not meet."""

    outcome: str | None = None
    bookings: int | None = None
    # Substrings of the agent's lines (all of them, joined): each must / must never appear.
    phrases: list[str] = Field(default_factory=list)
    absent_phrases: list[str] = Field(default_factory=list)
    # Substrings that must never appear in the agent's first line (the opener).
    opening_absent_phrases: list[str] = Field(default_factory=list)
    # The agent said goodbye and closed the call (true), or did not (false).
    ended: bool | None = None
    # The confirmed (or moved) meeting's start, with a zone; compared as instants.
    booked_at: datetime | None = None
    # The address the confirmed (or moved) meeting's invite goes to.
    invited: str | None = None
    # Expectations on the agent's answer to one caller line (e.g. no "Booked for" after a hold).
    answers: list[AnswerExpect] = Field(default_factory=list)
    call_back_requested: bool | None = None
    # A case-insensitive substring of the recorded call-back time ("tomorrow afternoon").
    call_back_when: str | None = None
    do_not_call: bool | None = None
    human_follow_up: bool | None = None
    # At most this many agent lines, opener included (no loops, no endless re-offers).
    max_agent_turns: int | None = Field(None, ge=1)

    @field_validator("booked_at")
    @classmethod
    def _booked_aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("booked_at needs a zone, e.g. 2026-12-02T18:00:00Z")
        return None if value is None else within_reach(value)

    def check(self, result: CallResult) -> list[str]:
        """Each expectation ``result`` does not meet, as a readable line; empty when all hold."""
        agent = [t["text"] for t in result.transcript if t["role"] == "agent"]
        said = " ".join(agent)
        problems: list[str] = []
        if self.outcome is not None and result.outcome != self.outcome:
            problems.append(f"outcome is {result.outcome!r}, expected {self.outcome!r}")
        if self.bookings is not None and len(result.bookings) != self.bookings:
            problems.append(f"{len(result.bookings)} booking(s), expected {self.bookings}")
        problems += [f"agent never said {p!r}" for p in self.phrases if p not in said]
        problems += [f"agent said {p!r}" for p in self.absent_phrases if _says(said, p)]
        opener = agent[0] if agent else ""
        problems += [
            f"opening line says {p!r}: {opener!r}"
            for p in self.opening_absent_phrases if _says(opener, p)
        ]
        if self.ended is not None and _ended(result) != self.ended:
            problems.append("the agent did not end the call with a goodbye" if self.ended
                            else "the agent ended the call")
        held = [b for b in result.bookings if b["status"] in ("confirmed", "moved")]
        if self.booked_at is not None:
            problems += _booked_at_problems(held, self.booked_at)
        if self.invited is not None and (not held or self.invited not in held[-1]["attendees"]):
            invitees = held[-1]["attendees"] if held else "nobody (no booking)"
            problems.append(f"invite goes to {invitees}, expected {self.invited!r}")
        for answer in self.answers:
            problems += _answer_problems(result, answer)
        for name in ("call_back_requested", "do_not_call", "human_follow_up"):
            wanted = getattr(self, name)
            if wanted is not None and getattr(result, name) != wanted:
                problems.append(f"{name} is {getattr(result, name)}, expected {wanted}")
        if self.call_back_when is not None and (
            self.call_back_when.lower() not in (result.call_back_when or "").lower()
        ):
            problems.append(
                f"call_back_when is {result.call_back_when!r}, expected it to say "
                f"{self.call_back_when!r}"
            )
        if self.max_agent_turns is not None and len(agent) > self.max_agent_turns:
            problems.append(f"{len(agent)} agent lines, expected at most {self.max_agent_turns}")
        return problems


def _says(text: str, phrase: str) -> bool:
    """Whether ``text`` says ``phrase`` as words: "1 AM" is not said by "11 AM"."""
    return re.search(rf"(?<![\w:]){re.escape(phrase)}(?!\w)", text) is not None


def _answer_problems(result: CallResult, answer: AnswerExpect) -> list[str]:
    """The agent's lines between caller line ``to_line`` and the next caller line."""
    caller_seen = 0
    reply: list[str] = []
    for entry in result.transcript:
        if entry["role"] == "caller":
            caller_seen += 1
        elif caller_seen == answer.to_line:
            reply.append(entry["text"])
    if caller_seen < answer.to_line:
        return [f"the call ended before caller line {answer.to_line}"]
    text = " ".join(reply)
    where = f"answer to caller line {answer.to_line} ({text!r})"
    return ([f"{where} never says {p!r}" for p in answer.phrases if p not in text]
            + [f"{where} says {p!r}" for p in answer.absent_phrases if _says(text, p)])


# A closing line: the agent's goodbye (the call result carries no "ended" flag of its own).
_GOODBYE = re.compile(r"\b(good-?\s?bye|bye)\b", re.IGNORECASE)


def _ended(result: CallResult) -> bool:
    """The call's last line is the agent's goodbye (not the caller running out of lines)."""
    last = result.transcript[-1] if result.transcript else None
    return last is not None and last["role"] == "agent" and bool(_GOODBYE.search(last["text"]))


def _booked_at_problems(held: list[dict[str, Any]], expected: datetime) -> list[str]:
    if not held:
        return [f"no meeting is booked, expected one at {_iso_utc(expected)}"]
    start = datetime.fromisoformat(held[-1]["start"].replace("Z", "+00:00"))
    if start != expected:
        return [f"booked at {_iso_utc(start)}, expected {_iso_utc(expected)}"]
    return []


class Scenario(_Strict):
    """A scripted test call."""

    description: str | None = None
    campaign: str | dict[str, Any]
    now: datetime | None = None
    caller: CallerSpec = Field(default_factory=CallerSpec)
    calendar: CalendarSpec = Field(default_factory=CalendarSpec)
    policy: Literal["llm", "guided"] | None = None
    caller_says: list[str] = Field(default_factory=list)
    events: list[EventSpec] = Field(default_factory=list)
    llm_script: list[LLMStep] = Field(default_factory=list)
    llm_timeout_seconds: float | None = Field(None, gt=0, le=600)
    expect: Expect | None = None

    @field_validator("now")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("now needs a zone, e.g. 2026-12-01T14:00:00Z")
        return None if value is None else within_reach(value)


def load_scenario(path: str | Path) -> tuple[Scenario, Campaign]:
    """Read a scenario file and its campaign (a path relative to the scenario, or inline)."""
    path = Path(path)
    try:
        data = parse_yaml(read_text(path))
    except InputError as exc:
        raise ScenarioInvalid(f"{path}: {exc}") from None
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{where}: {what}" for where, what in validation_problems(exc))
        raise ScenarioInvalid(f"{path}: invalid scenario: {problems}") from None
    if isinstance(scenario.campaign, str):
        campaign = load_campaign(path.parent / scenario.campaign)
    else:
        campaign = parse_campaign(scenario.campaign, f"{path}: campaign")
    return scenario, campaign


# The caller's side of a call: returns the next line, or None to hang up.
CallerInput = Callable[[], Awaitable[str | None]]
AgentOutput = Callable[[str, str], None]


class CallResult(BaseModel):
    """What a test call produced (the ``--json`` output)."""

    transcript: list[dict[str, str]]
    bookings: list[dict[str, Any]]
    outcome: str
    tool_calls: list[dict[str, Any]] = Field(default_factory=list)
    llm_fallbacks: int = 0
    # Why this call could not offer booking (booking off, calendar connection unusable).
    booking_unavailable: str | None = None
    # Follow-ups: the caller asked to be called back (and when), asked not to be called
    # again, or the agent promised a person would follow up (e.g. the e-mail never came clear).
    call_back_requested: bool = False
    call_back_when: str | None = None
    do_not_call: bool = False
    human_follow_up: bool = False


def bookings_of(session: CallSession) -> list[dict[str, Any]]:
    """This call's bookings as the harness reports them."""
    out = []
    for record in session.bookings():
        if record.status not in ("confirmed", "cancelled"):
            continue  # failed or abandoned attempts never reached the calendar
        status = record.status
        if status == "confirmed" and record.id in session.moved_booking_ids:
            status = "moved"
        out.append({
            # The id and whether this call moved it: what announcing the call from its
            # stored record needs (see app.operators.webhooks).
            "id": record.id,
            "moved": record.id in session.moved_booking_ids,
            "start": _iso_utc(record.slot.start),
            "end": _iso_utc(record.slot.end),
            "attendees": [record.attendee_email],
            "subject": record.subject,
            "status": status,
            "online_meeting_url": record.online_meeting_url,
        })
    return out


def _iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def run_call(
    campaign: Campaign,
    *,
    database: Database,
    settings: Settings,
    caller: CallerSpec,
    next_line: CallerInput,
    now: datetime | None = None,
    calendar: CalendarSpec | None = None,
    policy: str | None = None,
    events: list[EventSpec] | None = None,
    on_line: AgentOutput | None = None,
    call_id: str | None = None,
    organisation_id: str | None = None,
) -> tuple[CallResult, CallSession]:
    """Run one text call through the dialogue pipeline until goodbye or the caller hangs up
    (as call ``call_id``, a fresh ``test-...`` id if not given; for ``organisation_id``'s
    campaign, on that organisation's calendars).

    Entry points settle bookings a killed earlier run left pending before they call this
    (:func:`app.bootstrap.settle_claims`); a server's upkeep does it for its test calls.
    """
    calendar = calendar or CalendarSpec()
    if organisation_id is not None:
        campaign = for_organisation(campaign, organisation_id)
    if calendar.use == "campaign":
        connection = connect_calendar(campaign, database, settings,
                                      organisation_id=organisation_id)
    else:
        connection, campaign = _embedded_calendar(campaign, database, calendar)
    name = " ".join(p for p in (caller.first_name, caller.last_name) if p) or None
    session = await open_call(
        campaign, caller_number=caller.number, caller_name=name,
        call_id=call_id or new_test_call_id(), now=now, database=database,
        calendar=connection,
    )
    # Text turns arrive whole (no audio to detect turns in), so no turn model is loaded.
    parts = build_dialogue(
        session, llm=settings.llm(), policy=policy,
        user_turn_strategies=ExternalUserTurnStrategies(),
    )
    dialogue = parts.dialogue
    worker = PipelineWorker(
        Pipeline([*parts.before_tts, *parts.after_output]),
        params=PipelineParams(), cancel_on_idle_timeout=False,
    )
    started = asyncio.Event()

    @worker.event_handler("on_pipeline_started")
    async def _started(_worker: Any, _frame: Any) -> None:
        started.set()

    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    running = asyncio.create_task(runner.run())
    printed = 0

    def show() -> None:
        nonlocal printed
        for entry in session.transcript[printed:]:
            if on_line:
                on_line(entry["role"], entry["text"])
        printed = len(session.transcript)

    async def agent_turn() -> None:
        done = asyncio.create_task(dialogue.turn_done.wait())
        await asyncio.wait({done, running}, timeout=TURN_LIMIT_SECONDS,
                           return_when=asyncio.FIRST_COMPLETED)
        done.cancel()
        show()

    try:
        await asyncio.wait_for(started.wait(), timeout=TURN_LIMIT_SECONDS)
        dialogue.turn_done.clear()
        await worker.queue_frame(LLMRunFrame())
        await agent_turn()
        turn = 0
        while not session.ended and not running.done():
            for event in events or []:
                if event.after_turn == turn:
                    await _concurrent_booking(session, connection, database, event)
            said = await next_line()
            if said is None:
                session.caller_hung_up = True
                break
            turn += 1
            dialogue.turn_done.clear()
            await worker.queue_frame(
                LLMMessagesAppendFrame([{"role": "user", "content": said}], run_llm=True)
            )
            await agent_turn()
        if not running.done():
            await worker.queue_frame(EndFrame())
        await asyncio.wait_for(running, timeout=TURN_LIMIT_SECONDS)
    finally:
        if not running.done():
            running.cancel()
    show()
    result = CallResult(
        transcript=[{"role": e["role"], "text": e["text"]} for e in session.transcript],
        bookings=bookings_of(session),
        outcome=session.outcome,
        tool_calls=session.tool_calls,
        llm_fallbacks=dialogue.fallbacks,
        booking_unavailable=session.booking_unavailable_reason,
        call_back_requested=session.call_back_requested,
        call_back_when=session.call_back_when,
        do_not_call=session.do_not_call,
        human_follow_up=session.human_follow_up,
    )
    return result, session


def _embedded_calendar(
    campaign: Campaign, database: Database, calendar: CalendarSpec
) -> tuple[CalendarConnection, Campaign]:
    """The embedded calendar with the scenario's events, and the campaign booking on it."""
    zone = campaign.booking.availability.timezone
    provider = LocalCalendar(database, calendar_id="local", zone=zone)
    for busy in calendar.busy:
        provider.add_busy(busy.start, busy.end, subject=busy.subject)
    if campaign.booking.calendar != "local":
        # Books on the embedded calendar whatever the campaign names.
        campaign = campaign.model_copy(
            update={"booking": campaign.booking.model_copy(update={"calendar": "local"})}
        )
    if calendar.connection == "expired":
        return CalendarConnection.unusable("calendar access has expired"), campaign
    return CalendarConnection(provider, True), campaign


async def _concurrent_booking(
    session: CallSession, connection: CalendarConnection, database: Database,
    event: EventSpec,
) -> None:
    """Another caller confirms a slot offered on this call first (the real booking path;
    on a pool, the pool's: that caller gets a member too)."""
    provider = connection.provider
    if not session.offers or (provider is None and not connection.members):
        return
    if event.concurrent_booking == "current":
        ids = session.last_offer_ids or list(session.offers)
        slot = session.offers[ids[0]].slot
    else:
        offered = list(session.offers.values())
        slot = offered[min(event.concurrent_booking, len(offered)) - 1].slot
    other: AnyBookingService
    if connection.members:
        other = PoolBookingService.on_database(
            database, connection.members, session.campaign.booking,
            campaign_name=session.campaign.name)
        await other.load_availability(session.now())
    else:
        assert provider is not None
        other = BookingService.on_database(
            database, provider, session.campaign.booking,
            calendar_id=session.campaign.booking.calendar, campaign_name=session.campaign.name,
            calendar_zone=await provider.time_zone(),
        )
    await other.book(
        start=slot.start, attendee=Attendee(email="someone.else@example.com", name="Sam"),
        recipient=Recipient(first_name="Sam"), call_id=f"other-{session.call_id}",
        now=session.now(),
    )


def new_test_call_id() -> str:
    """A test call's id: ``test-`` and 12 hex digits (phone calls have Twilio's CallSid)."""
    return f"test-{uuid.uuid4().hex[:12]}"


def scripted_input(lines: list[str]) -> CallerInput:
    """The caller's lines from a scenario; hangs up when they run out."""
    remaining = list(lines)

    async def next_line() -> str | None:
        return remaining.pop(0) if remaining else None

    return next_line


async def run_scenario(
    path: str | Path,
    *,
    settings: Settings,
    database_url: str | None = None,
    llm_url: str | None = None,
    on_line: AgentOutput | None = None,
    policy: Literal["llm", "guided"] | None = None,
) -> CallResult:
    """Run a scenario file on a fresh temporary SQLite database (or ``database_url``).

    ``policy`` plays the call on that policy instead of the scenario's own (the same caller
    lines, clock, campaign and calendar on the other path).

    A scenario booking on the campaign's own calendar (``calendar: {use: campaign}``) runs on
    the configured database instead, where that calendar's connection is recorded.
    """
    scenario, campaign = load_scenario(path)
    updates: dict[str, Any] = {}
    if llm_url:
        updates["openai_base_url"] = llm_url
        if not settings.openai_api_key:
            updates["openai_api_key"] = SecretStr("local-test-server")
    if scenario.llm_timeout_seconds:
        updates["llm_timeout_seconds"] = scenario.llm_timeout_seconds
    if updates:
        settings = settings.model_copy(update=updates)
    policy = policy or scenario.policy
    if policy == "llm" and not settings.openai_api_key:
        raise ScenarioInvalid(
            f"{path}: policy llm needs an OpenAI-compatible server: set "
            "BOOKING_AGENT_OPENAI_API_KEY or pass --llm-url (e.g. the fake: "
            "python -m tests.fakes.openai_server)"
        )
    with tempfile.TemporaryDirectory(prefix="booking-agent-test-call-") as tmp:
        url = database_url or (
            settings.sqlalchemy_url() if scenario.calendar.use == "campaign"
            else f"sqlite:///{Path(tmp) / 'test-call.db'}"
        )
        database = open_database(url)
        try:
            await settle_claims(database, settings)
            result, _ = await run_call(
                campaign, database=database, settings=settings, caller=scenario.caller,
                next_line=scripted_input(scenario.caller_says), now=scenario.now,
                calendar=scenario.calendar, policy=policy, events=scenario.events,
                on_line=on_line,
            )
        finally:
            database.dispose()
    return result


__all__ = [
    "AnswerExpect", "CallResult", "Expect", "Scenario", "ScenarioInvalid", "load_scenario",
    "run_call", "run_scenario", "scripted_input",
]
