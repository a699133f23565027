"""One phone call's voice pipeline on a Twilio media stream.

    transport.input() → STT → user aggregator (Silero VAD) → [turn guard] → dialogue
    → [filler] → TTS → transport.output() → assistant aggregator

The dialogue (agent.pipeline) greets, answers and ends the call with an EndWorkerFrame
after its goodbye; the Twilio serializer then hangs up through the REST API. This module
adds what only a phone needs: a short filler when a tool keeps the caller waiting, a
booking turn that a barge-in cannot cut in half, a hang-up after a silence time-out,
clean-up when the caller hangs up, and the call record with per-turn latency.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from fastapi import WebSocket
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADParams
from pipecat.frames.frames import (
    ControlFrame,
    EndFrame,
    Frame,
    FunctionCallInProgressFrame,
    FunctionCallResultFrame,
    LLMContextFrame,
    LLMFullResponseStartFrame,
    LLMRunFrame,
    TTSSpeakFrame,
)
from pipecat.observers.user_bot_latency_observer import (
    LatencyBreakdown,
    MeasuredFrom,
    UserBotLatencyObserver,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.serializers.twilio import TwilioFrameSerializer
from pipecat.transports.websocket.fastapi import (
    FastAPIWebsocketParams,
    FastAPIWebsocketTransport,
)
from pipecat.turns.user_stop import SpeechTimeoutUserTurnStopStrategy
from pipecat.turns.user_turn_strategies import UserTurnStrategies
from pipecat.workers.runner import WorkerRunner

from agent.call_session import CalendarConnection
from agent.campaign import Campaign
from agent.pipeline import Dialogue, build_dialogue, open_call
from prompts import line
from storage.database import Database
from telephony.call_records import EndedCall, FollowUps, TurnLatency, record_call_finished
from telephony.config import PhoneSetup
from telephony.metrics import ServerMetrics
from telephony.services import choose_speech, make_stt, make_tts

log = logging.getLogger(__name__)

FILLER = line("filler")
FILLER_AFTER_SECONDS = 0.7
SILENCE_GOODBYE = line("silence_goodbye")
# How long a caller's hang-up waits for a turn in progress (a booking write) to finish.
HANGUP_GRACE_SECONDS = 15.0
OFFLINE_VAD_STOP_SECONDS = 0.6
OFFLINE_TURN_PAUSE_SECONDS = 0.2
PIPELINE_IN_RATE = 16000  # the offline recogniser and Silero work at 16 kHz
TWILIO_RATE = 8000


@dataclass(frozen=True)
class AdmittedCall:
    """A media stream the server has admitted: which call, for which campaign, with whom."""

    call_sid: str
    stream_sid: str
    account_sid: str
    campaign: Campaign
    caller_number: str
    caller_name: str | None
    direction: str
    # Set when the campaign is an organisation's (stored by an operator), not a file's.
    organisation_id: str | None = None



@dataclass
class GuidedTurnStartedFrame(ControlFrame):
    """A caller turn is on its way to the guided policy (whose tools run inside its answer)."""


class ToolFiller(FrameProcessor):
    """Says a short filler when the agent's answer keeps the caller waiting on a tool.

    LLM calls: armed by ``FunctionCallInProgressFrame``, disarmed by its result. Guided
    calls: armed by :class:`GuidedTurnStartedFrame`, disarmed by the first words of the
    answer. Once per turn at most.
    """

    def __init__(self, *, after_seconds: float = FILLER_AFTER_SECONDS, text: str = FILLER,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._after = after_seconds
        self._text = text
        self._timer: asyncio.Task[None] | None = None
        self._said_this_turn = False
        self.fillers_said = 0

    def _arm(self) -> None:
        if self._timer is None and not self._said_this_turn:
            self._timer = self.create_task(self._fire(), "filler")

    async def _disarm(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None and timer is not asyncio.current_task():
            await self.cancel_task(timer)

    async def _fire(self) -> None:
        await asyncio.sleep(self._after)
        self._timer = None
        self._said_this_turn = True
        self.fillers_said += 1
        await self.push_frame(TTSSpeakFrame(self._text))

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, GuidedTurnStartedFrame):
            self._said_this_turn = False
            self._arm()
            return  # a signal between our processors, nothing downstream needs it
        if isinstance(frame, FunctionCallInProgressFrame):
            self._arm()
        elif isinstance(frame, FunctionCallResultFrame | LLMFullResponseStartFrame):
            await self._disarm()
        await self.push_frame(frame, direction)

    async def cleanup(self) -> None:
        await self._disarm()
        await super().cleanup()


class TurnGuard(FrameProcessor):
    """Sits before the dialogue: a caller turn, once handed over, runs to its end.

    Marking the turn's context frame uninterruptible means a barge-in flushes what is
    queued but does not cancel the dialogue mid-way through a booking write.
    """

    def __init__(self, dialogue: Dialogue, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._dialogue = dialogue

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, LLMContextFrame) and direction == FrameDirection.DOWNSTREAM:
            frame.interruptible = False
            if self._dialogue.greeted and self._dialogue.mode == "guided":
                await self.push_frame(GuidedTurnStartedFrame())
        await self.push_frame(frame, direction)


# Which stage of a turn each part of pipecat's latency breakdown belongs to; anything
# else (model inference, the dialogue's own work, waiting for speakable text) is dialogue.
_STAGE = {
    "endpointing_wait": "stt", "transcription": "stt", "turn_detection": "stt",
    "function_handler": "tools", "llm_tool_call": "tools",
    "sentence_aggregation": "tts", "speech_synthesis": "tts", "output_transport": "tts",
}


@dataclass
class LatencyLog:
    """Per-turn latency of one call: caller stops speaking → first agent audio."""

    dialogue: Dialogue
    metrics: ServerMetrics | None = None
    turns: list[TurnLatency] = field(default_factory=list)
    _tool_timings_seen: int = 0

    def _guided_tool_seconds(self) -> float:
        timings = self.dialogue.session.turn_timings
        new = timings[self._tool_timings_seen:]
        self._tool_timings_seen = len(timings)
        return sum(t["seconds"] for t in new if t.get("kind") == "tool")

    def add(self, breakdown: LatencyBreakdown) -> None:
        """Record one turn's breakdown (greetings, timed from the connection, are skipped)."""
        guided_tools = self._guided_tool_seconds()
        if breakdown.measured_from != MeasuredFrom.USER_SILENCE:
            return
        parts = {"stt": 0.0, "dialogue": 0.0, "tools": 0.0, "tts": 0.0}
        for contribution in breakdown.contributions:
            parts[_STAGE.get(contribution.key, "dialogue")] += contribution.duration_secs
        if not parts["tools"] and guided_tools:
            # The guided policy runs its tools inside its own turn: move that time over.
            moved = min(guided_tools, parts["dialogue"])
            parts["tools"], parts["dialogue"] = moved, parts["dialogue"] - moved
        total = breakdown.total_secs
        self.turns.append(TurnLatency(
            total_ms=round(total * 1000, 1),
            **{f"{k}_ms": round(v * 1000, 1) for k, v in parts.items()}))
        if self.metrics is not None:
            self.metrics.turn_latency.observe(total)


def _booking_dicts(dialogue: Dialogue) -> list[dict[str, Any]]:
    out = []
    for record in dialogue.session.bookings():
        item = asdict(record)
        item["slot"] = {"start": record.slot.start.isoformat(), "end": record.slot.end.isoformat()}
        # Stored with the record: the booking row cannot tell, and a sweep announcing the
        # call after a crash must say booking.moved as the live path would.
        item["moved"] = record.id in dialogue.session.moved_booking_ids
        out.append(item)
    return out


async def run_call(
    websocket: WebSocket, call: AdmittedCall, *, setup: PhoneSetup, database: Database,
    metrics: ServerMetrics | None = None, now: datetime | None = None,
    policy: str | None = None, calendar: CalendarConnection | None = None,
) -> None:
    """Hold one conversation on an admitted media stream until it ends, then record it.

    ``now``, ``policy`` and ``calendar`` override the wall clock, the configured policy and
    the campaign's calendar connection (scenarios and tests).
    """
    campaign = call.campaign
    session = await open_call(
        campaign, caller_number=call.caller_number, caller_name=call.caller_name,
        call_id=call.call_sid, now=now, database=database,
        calendar=calendar or setup.connect_calendar(
            campaign, organisation_id=call.organisation_id))
    twilio = setup.twilio
    auth_token = twilio.auth_token
    serializer = TwilioFrameSerializer(
        stream_sid=call.stream_sid, call_sid=call.call_sid,
        account_sid=twilio.account_sid or call.account_sid,
        auth_token=auth_token.get_secret_value() if auth_token else None,
        base_url=twilio.api_url,
        params=TwilioFrameSerializer.InputParams(twilio_sample_rate=TWILIO_RATE),
    )
    transport = FastAPIWebsocketTransport(websocket, FastAPIWebsocketParams(
        audio_in_enabled=True, audio_out_enabled=True, add_wav_header=False,
        serializer=serializer))
    offline_stt = choose_speech(setup.speech).stt == "pocketsphinx"
    # Smart-turn judges synthetic and recognised-offline speech "unfinished" and waits 3 s;
    # with the offline recogniser a plain pause ends the caller's turn. The segment the
    # recogniser hears ends at the VAD stop, so a short stop cuts words whose soft endings
    # dip below the VAD ("yes that is cor|rect", "no thanks | goodbye"): 0.6 s keeps a
    # phrase whole, and the turn still ends 0.8 s after the caller's last sound.
    if offline_stt:
        vad = SileroVADAnalyzer(params=VADParams(stop_secs=OFFLINE_VAD_STOP_SECONDS))
        strategies = UserTurnStrategies(stop=[SpeechTimeoutUserTurnStopStrategy(
            user_speech_timeout=OFFLINE_TURN_PAUSE_SECONDS)])
    else:
        vad, strategies = SileroVADAnalyzer(), None
    parts = build_dialogue(session, llm=setup.llm, vad_analyzer=vad,
                           user_turn_strategies=strategies, policy=policy)
    dialogue = parts.dialogue
    filler = ToolFiller()
    guard = TurnGuard(dialogue)
    user_aggregator, *dialogue_rest = parts.before_tts
    stt, tts = make_stt(setup.speech, campaign, call.caller_name), make_tts(setup.speech)
    pipeline = Pipeline([
        transport.input(), stt, user_aggregator, guard, *dialogue_rest, filler, tts,
        transport.output(), *parts.after_output,
    ])
    latency_observer = UserBotLatencyObserver()
    latencies = LatencyLog(dialogue, metrics)
    worker = PipelineWorker(
        pipeline,
        params=PipelineParams(audio_in_sample_rate=PIPELINE_IN_RATE,
                              audio_out_sample_rate=TWILIO_RATE, enable_metrics=True),
        observers=[latency_observer],
        idle_timeout_secs=setup.silence_timeout_seconds,
        cancel_on_idle_timeout=False,
    )
    started = time.monotonic()
    silence_ended = False

    @latency_observer.event_handler("on_latency_breakdown")
    async def _latency(_observer: Any, breakdown: LatencyBreakdown) -> None:
        latencies.add(breakdown)

    @transport.event_handler("on_client_connected")
    async def _connected(_transport: Any, _client: Any) -> None:
        await worker.queue_frames([LLMRunFrame()])  # the dialogue greets first

    @transport.event_handler("on_client_disconnected")
    async def _disconnected(_transport: Any, _client: Any) -> None:
        session.caller_hung_up = True
        if not dialogue.turn_done.is_set():
            # A booking may be mid-write: let the turn finish so nothing is half made.
            try:
                await asyncio.wait_for(dialogue.turn_done.wait(), HANGUP_GRACE_SECONDS)
            except TimeoutError:
                log.warning("call %s: turn still running at hang-up", call.call_sid)
        await worker.cancel()

    @worker.event_handler("on_idle_timeout")
    async def _silence(_worker: Any) -> None:
        nonlocal silence_ended
        if silence_ended or session.ended:
            return
        silence_ended = True
        session.ended = True
        session.say("agent", SILENCE_GOODBYE)
        await worker.queue_frames([TTSSpeakFrame(SILENCE_GOODBYE), EndFrame()])

    runner = WorkerRunner(handle_sigint=False)
    try:
        await runner.add_workers(worker)
        await runner.run()
    finally:
        def record() -> None:  # database reads and writes, off the event loop
            bookings = _booking_dicts(dialogue)
            record_call_finished(
                database, call.call_sid, outcome=session.outcome,
                transcript=session.transcript, tool_calls=session.tool_calls,
                bookings=bookings, turn_latencies=latencies.turns,
                follow_ups=FollowUps(
                    call_back_requested=session.call_back_requested,
                    call_back_when=session.call_back_when, do_not_call=session.do_not_call,
                    human_follow_up=session.human_follow_up))
            if setup.call_ended is None:
                return
            try:
                setup.call_ended(EndedCall(
                    call_id=call.call_sid, campaign=campaign.name,
                    organisation_id=call.organisation_id, outcome=session.outcome,
                    transcript=session.transcript, bookings=bookings,
                    booked=[(b, b.id in session.moved_booking_ids)
                            for b in session.bookings()]))
            except Exception:  # the call is recorded; a failed announcement must not undo it
                log.exception("call %s: telling the shell it ended failed", call.call_sid)

        await asyncio.to_thread(record)
        log.info("call %s ended after %.1f s: %s", call.call_sid,
                 time.monotonic() - started, session.outcome)
