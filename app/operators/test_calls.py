"""Test calls over the operator API: the operator types the caller's lines, turn by turn.

A test call runs the same dialogue, calendar and booking code as a phone call
(:func:`app.harness.run_call` with the campaign's own calendar); only the transport is
text. It lives in this server process while it runs, and is recorded as a call of the
organisation when it ends, so it shows among the organisation's calls and bookings.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from agent.campaign import Campaign
from app.bootstrap import connect_calendar, for_organisation
from app.harness import CalendarSpec, CallerSpec, CallResult, new_test_call_id, run_call
from app.operators.webhooks import announce_call_ended
from app.settings import Settings
from calendar_backend.booking_store import BookingRecord
from storage.database import Database
from telephony.call_records import (
    EndedCall,
    FollowUps,
    record_call_finished,
    record_call_started,
    record_status,
)

log = logging.getLogger(__name__)

# A test call nobody types into for this long is hung up (it holds a pipeline meanwhile).
IDLE_SECONDS = 600.0
# An agent turn (tools and calendar included) longer than this is reported, not waited on.
TURN_SECONDS = 30.0
MAX_RUNNING_PER_ORGANISATION = 5


class TestCallRefused(Exception):
    """A test call that cannot start or go on, with the reason in words."""


@dataclass
class TestCall:
    """One running (or ended) test call."""

    id: str
    organisation_id: str
    campaign: Campaign
    lines: list[dict[str, str]] = field(default_factory=list)
    result: CallResult | None = None
    # Why this call cannot book (booking on, but the calendar owner has no usable calendar).
    booking_unavailable: str | None = None
    _inbox: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    _listening: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    @property
    def ended(self) -> bool:
        """Whether the call is over (goodbye, hang-up, or failure)."""
        return self._task is not None and self._task.done()

    async def _next_line(self) -> str | None:
        self._listening.set()
        try:
            return await asyncio.wait_for(self._inbox.get(), IDLE_SECONDS)
        except TimeoutError:
            return None
        finally:
            self._listening.clear()

    def _heard(self, role: str, text: str) -> None:
        self.lines.append({"role": role, "text": text})

    async def _agent_done(self) -> None:
        """Until the agent waits for the caller again, or the call is over."""
        assert self._task is not None
        listening = asyncio.ensure_future(self._listening.wait())
        try:
            await asyncio.wait({listening, self._task}, timeout=TURN_SECONDS,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            listening.cancel()

    async def say(self, text: str) -> list[dict[str, str]]:
        """The caller says ``text``; returns what was said from then until the agent waits
        again."""
        if self.ended:
            raise TestCallRefused("the call has ended")
        if not self._listening.is_set():
            raise TestCallRefused("the agent is still talking; wait for its answer")
        seen = len(self.lines)
        self._listening.clear()
        await self._inbox.put(text)
        await self._agent_done()
        return self.lines[seen:]

    async def hang_up(self) -> None:
        """The caller hangs up; returns once the call is recorded."""
        if self._task is None or self._task.done():
            return
        await self._inbox.put(None)
        await asyncio.wait({self._task}, timeout=TURN_SECONDS)


class TestCalls:
    """The test calls running in this server, by organisation."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self._database = database
        self._settings = settings
        self._calls: dict[str, TestCall] = {}

    @property
    def settings(self) -> Settings:
        """The settings test calls run with (the console reaches calendars with them too)."""
        return self._settings

    def find(self, organisation_id: str, call_id: str) -> TestCall | None:
        """The organisation's test call ``call_id`` (running or ended in this process)."""
        call = self._calls.get(call_id)
        return call if call is not None and call.organisation_id == organisation_id else None

    async def start(
        self, organisation_id: str, campaign: Campaign, caller: CallerSpec
    ) -> TestCall:
        """Start a call of ``campaign``; returns once the agent has opened and waits."""
        running = [c for c in self._calls.values()
                   if c.organisation_id == organisation_id and not c.ended]
        if len(running) >= MAX_RUNNING_PER_ORGANISATION:
            raise TestCallRefused(
                f"{len(running)} test calls are running; hang one up before starting another")
        self._calls = {k: c for k, c in self._calls.items() if not c.ended}  # ended: recorded
        call = TestCall(new_test_call_id(), organisation_id, campaign)
        if campaign.booking.enabled:
            # Said up front (the operator should not need to finish the call to learn it).
            calendar = await asyncio.to_thread(
                connect_calendar, for_organisation(campaign, organisation_id), self._database,
                self._settings, organisation_id=organisation_id)
            call.booking_unavailable = None if calendar.usable else calendar.reason
        self._calls[call.id] = call
        await asyncio.to_thread(
            record_call_started, self._database, call.id, campaign=campaign.name,
            direction="inbound", caller_number=caller.number, our_number=None,
            organisation_id=organisation_id)
        call._task = asyncio.create_task(self._run(call, caller))
        await call._agent_done()
        return call

    async def _run(self, call: TestCall, caller: CallerSpec) -> None:
        try:
            result, session = await run_call(
                call.campaign, database=self._database, settings=self._settings, caller=caller,
                next_line=call._next_line, calendar=CalendarSpec(use="campaign"),
                on_line=call._heard, call_id=call.id, organisation_id=call.organisation_id)
        except Exception:
            log.exception("test call %s failed", call.id)
            await asyncio.to_thread(record_status, self._database, call.id, "failed")
            return
        call.result = result
        call.booking_unavailable = result.booking_unavailable if \
            call.campaign.booking.enabled else None
        booked = [(record, record.id in session.moved_booking_ids)
                  for record in session.bookings()]
        await asyncio.to_thread(self._record, call, result, booked)

    def _record(
        self, call: TestCall, result: CallResult, booked: list[tuple[BookingRecord, bool]]
    ) -> None:
        call_id = call.id
        record_call_finished(
            self._database, call_id, outcome=result.outcome, transcript=result.transcript,
            tool_calls=result.tool_calls, bookings=result.bookings, turn_latencies=[],
            follow_ups=FollowUps(
                call_back_requested=result.call_back_requested,
                call_back_when=result.call_back_when, do_not_call=result.do_not_call,
                human_follow_up=result.human_follow_up))
        record_status(self._database, call_id, "completed")
        announce_call_ended(self._database, EndedCall(
            call_id=call_id, campaign=call.campaign.name, organisation_id=call.organisation_id,
            outcome=result.outcome, transcript=result.transcript, bookings=result.bookings,
            booked=booked))

    async def close(self) -> None:
        """Hang up every running call (the server is stopping)."""
        await asyncio.gather(*(c.hang_up() for c in self._calls.values() if not c.ended))
