"""The dialogue as pipecat processors: one pipeline for every channel (phone and text).

The phone pipeline is::

    Pipeline([transport.input(), stt, *parts.before_tts, tts, transport.output(),
              *parts.after_output])

and the text harness drops the transport, STT and TTS. ``before_tts`` is
``[user aggregator, DialogueRouter, (OpenAILLMService), AgentVoice]``:

* :class:`DialogueRouter` sees every caller turn (an ``LLMContextFrame``), records it, and routes
  it: to the LLM, or (no LLM configured, or the LLM failed earlier on this call) to the guided
  policy.
* :class:`AgentVoice` sees everything the agent says, records it, says the guided policy's and
  the fallback's lines, says the goodbye after ``end_call`` and ends the call after it
  (``EndWorkerFrame`` downstream, so the words are spoken before the hang-up).

An LLM response that ends with nothing to say (a 500, a time-out, an empty answer) makes
AgentVoice hand the call to the guided policy, which answers that same turn: no dead air.

**Greeting:** the dialogue speaks first when the first ``LLMRunFrame`` reaches the user
aggregator. The phone side queues it when the caller is connected::

    @transport.event_handler("on_client_connected")
    async def _(transport, client):
        await worker.queue_frames([LLMRunFrame()])
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from openai import AsyncOpenAI
from pipecat.frames.frames import (
    ControlFrame,
    EndWorkerFrame,
    ErrorFrame,
    Frame,
    FunctionCallResultFrame,
    FunctionCallsStartedFrame,
    InterruptionFrame,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
)
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.services.openai.llm import OpenAILLMService

from agent.call_session import CallSession, open_call
from agent.config import LLMConfig
from agent.guided_policy import GuidedPolicy, Reply
from agent.time_guard import unvouched_times
from agent.tools import CallTools, function_schemas, meeting_words
from caller_language.timezones import zone_name
from caller_language.understanding import Expecting, Intent, read_turn
from prompts import line, render

log = logging.getLogger(__name__)

POLICIES = ("llm", "guided")

# open_call is part of this module's interface for the channels (phone, harness).
__all__ = ["POLICIES", "Dialogue", "DialogueParts", "build_dialogue", "open_call"]


class Dialogue:
    """The per-call dialogue state the processors share: mode, policy, turn signals."""

    def __init__(self, session: CallSession, mode: str) -> None:
        if mode not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}, not {mode!r}")
        self.session = session
        self.mode = mode
        self.tools = CallTools(session)
        self.policy = GuidedPolicy(session, self.tools)
        self.greeted = False
        self.last_caller_text: str | None = None
        self.llm_errors: list[str] = []
        self.fallbacks = 0
        self.turn_started = time.monotonic()
        # Set whenever the agent is not in the middle of answering (the harness waits on it,
        # the phone side waits on it before cancelling a call the caller hung up).
        self.turn_done = asyncio.Event()
        self.turn_done.set()

    async def guided_reply(self, text: str | None) -> Reply:
        """The guided policy's answer to the caller's turn (the greeting before any turn)."""
        if not self.greeted:
            self.greeted = True
            return self.policy.greeting()
        return await self.policy.respond(text or "")

    async def take_over(self) -> Reply:
        """The LLM gave nothing: the guided policy answers from here on."""
        self.mode = "guided"
        self.fallbacks += 1
        self.policy.resume()
        unspoken = self.session.unspoken
        if unspoken:
            # A tool ran but its words were never said (e.g. "Booked for ..."): say them.
            self.session.unspoken = None
            return Reply(unspoken)
        if not self.greeted:
            return await self.guided_reply(None)
        return await self.policy.respond(self.last_caller_text or "")


def _text_of(message: Any) -> str:
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


_SENTENCE_END = re.compile(r"(?<=[.?!])\s+")
SAFE_INSTEAD = line("checking_slots")


@dataclass
class GuidedReplyFrame(ControlFrame):
    """The guided policy's answer to a caller turn, on its way to :class:`AgentVoice`."""

    reply: Reply


class AgentVoice(FrameProcessor):
    """Everything the agent says passes here: recorded, and said when the dialogue decides.

    The LLM's words pass sentence by sentence (the TTS speaks whole sentences anyway); a
    sentence with a clock time no tool said is replaced by :data:`SAFE_INSTEAD`.
    """

    def __init__(self, dialogue: Dialogue, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dialogue = dialogue
        self._text: list[str] = []
        self._pending = ""
        self._replaced = False
        self._tools_in_response = False

    async def _say_checked(self, sentence: str) -> None:
        invented = unvouched_times(sentence, self.dialogue.session)
        if invented:
            log.warning("LLM said a time no tool gave (%s); replaced", ", ".join(invented))
            self.dialogue.session.guarded.append(sentence)
            if self._replaced:
                return  # one "let me check" per answer is enough
            self._replaced = True
            sentence = SAFE_INSTEAD + (" " if sentence.endswith(" ") else "")
        self._text.append(sentence)
        await self.push_frame(LLMTextFrame(sentence))

    async def _release(self, *, everything: bool) -> None:
        parts = _SENTENCE_END.split(self._pending)
        complete, self._pending = (parts, "") if everything else (parts[:-1], parts[-1])
        for sentence in complete:
            if sentence.strip():
                await self._say_checked(sentence.strip() + " ")

    async def speak(self, reply: Reply) -> None:
        """Say ``reply`` as a full response; end the call after it when the reply says so."""
        session = self.dialogue.session
        session.say("agent", reply.text)
        session.unspoken = None
        await self.push_frame(LLMFullResponseStartFrame())
        await self.push_frame(LLMTextFrame(reply.text))
        await self.push_frame(LLMFullResponseEndFrame())
        if reply.end:
            session.ended = True
            await self.push_frame(EndWorkerFrame(reason="goodbye"))
        self._turn_done()

    def _turn_done(self) -> None:
        d = self.dialogue
        d.session.timed("turn", d.turn_started, policy=d.mode)
        d.turn_done.set()

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if direction != FrameDirection.DOWNSTREAM:
            await self.push_frame(frame, direction)
            return
        if isinstance(frame, GuidedReplyFrame):
            await self.speak(frame.reply)
            return
        if isinstance(frame, LLMTextFrame):
            self._pending += frame.text
            await self._release(everything=False)
            return
        if isinstance(frame, FunctionCallsStartedFrame):
            self._tools_in_response = True
        elif isinstance(frame, InterruptionFrame):
            self._pending = ""  # never said
            self._flush()
        elif isinstance(frame, LLMFullResponseEndFrame):
            await self._release(everything=True)
            self._replaced = False
        await self.push_frame(frame, direction)
        if isinstance(frame, FunctionCallResultFrame) and frame.function_name == "end_call":
            said = frame.result.get("say") if isinstance(frame.result, dict) else None
            await self.speak(Reply(said or line("goodbye", first_name=None), end=True))
        elif isinstance(frame, LLMFullResponseEndFrame):
            await self._response_ended()

    def _flush(self) -> str:
        text = "".join(self._text).strip()
        self._text = []
        if text:
            self.dialogue.session.say("agent", text)
            self.dialogue.session.unspoken = None
        return text

    async def _response_ended(self) -> None:
        said = self._flush()
        tools, self._tools_in_response = self._tools_in_response, False
        if tools:
            return  # the tool results run the LLM again; that answer ends the turn
        if said:
            self._turn_done()
            return
        if self.dialogue.session.ended:
            return
        # Nothing said and no tool called: the LLM failed (error, time-out, empty answer).
        errors = self.dialogue.llm_errors
        log.warning(
            "LLM gave no answer (%s); the guided policy takes the call over",
            errors[-1] if errors else "empty response",
        )
        await self.speak(await self.dialogue.take_over())


class DialogueRouter(FrameProcessor):
    """Caller turns in: recorded, then answered by the LLM or by the guided policy."""

    def __init__(self, dialogue: Dialogue, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dialogue = dialogue
        self._seen_messages = 0

    def _new_caller_text(self, context: LLMContext) -> str | None:
        messages = context.get_messages()
        new = messages[self._seen_messages:]
        self._seen_messages = len(messages)
        said = [_text_of(m) for m in new if isinstance(m, dict) and m.get("role") == "user"]
        said = [s for s in said if s.strip()]
        if not said:
            return None
        text = " ".join(said)
        session = self.dialogue.session
        session.say("caller", text)
        self.dialogue.last_caller_text = text
        if self.dialogue.mode == "llm":
            # The model answers an opt-out or a call-back request; the code records it.
            turn = read_turn(text, Expecting.MEETING)
            if turn.intent is Intent.DO_NOT_CALL:
                session.do_not_call = True
            elif turn.intent is Intent.CALL_BACK:
                session.call_back_requested, session.call_back_when = True, turn.call_back_when
        return text

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        d = self.dialogue
        if isinstance(frame, ErrorFrame) and direction == FrameDirection.UPSTREAM:
            # The LLM's failure is handled here (AgentVoice hands the turn to the guided
            # policy when the empty response ends), so it goes no further.
            d.llm_errors.append(str(frame.error))
            log.warning("LLM error: %s", frame.error)
            return
        if not (isinstance(frame, LLMContextFrame) and direction == FrameDirection.DOWNSTREAM):
            await self.push_frame(frame, direction)
            return
        caller_text = self._new_caller_text(frame.context)
        if d.session.ended:
            return
        d.turn_started = time.monotonic()
        d.turn_done.clear()
        if not d.greeted or d.mode == "guided":
            # The greeting is always the campaign's own line: no model latency at "hello".
            await self.push_frame(GuidedReplyFrame(await d.guided_reply(caller_text)))
            return
        await self.push_frame(frame, direction)


class DialogueLLM(OpenAILLMService):
    """OpenAILLMService whose client gives up after the configured time-out, without retries.

    A slow or failing model must hand the call to the guided policy within seconds, not after
    the OpenAI client's default ten minutes and two retries.
    """

    def __init__(self, *, timeout_seconds: float, **kwargs: Any) -> None:
        self._timeout_seconds = timeout_seconds
        super().__init__(**kwargs)

    def create_client(self, api_key=None, base_url=None, organization=None, project=None,
                      default_headers=None, **kwargs):  # noqa: ANN001, ANN003, ANN201
        return AsyncOpenAI(
            api_key=api_key, base_url=base_url, organization=organization, project=project,
            default_headers=default_headers, timeout=self._timeout_seconds, max_retries=0,
        )


def _now_text(session: CallSession) -> str:
    # In the owner's zone, named the way the agent says it ("Tuesday 01 December 2026, 09:00
    # Eastern"), so the model's idea of "today" matches the times the tools say.
    local = session.now().astimezone(ZoneInfo(session.owner_zone))
    return f"{local:%A %d %B %Y, %H:%M} {zone_name(session.owner_zone)}"


def system_prompt(session: CallSession) -> str:
    """The LLM's system prompt for this call, from prompts/system.j2."""
    campaign = session.campaign
    booking = campaign.booking
    tools = CallTools(session)
    return render(
        "system.j2",
        agent_name=campaign.agent_name,
        business_name=campaign.business_name,
        purpose=campaign.purpose,
        caller_first_name=session.caller_first_name,
        now_text=_now_text(session),
        booking_available=session.booking_available,
        length_minutes=booking.meeting_length_minutes,
        meeting_words=meeting_words(booking.meeting_type),
        caller_zone_known=session.caller_zone is not None,
        caller_zone_name=zone_name(session.caller_zone) if session.caller_zone else "",
        zone_candidates=tools.candidate_names(),
        invite_has_details_only=booking.meeting_type == "video" and not session.invite_has_link,
        talking_points=campaign.talking_points,
        faq=campaign.faq,
    )


@dataclass
class DialogueParts:
    """The dialogue's processors, to place around the channel's STT/TTS/transport."""

    before_tts: list[FrameProcessor]  # user aggregator -> router -> (LLM) -> agent voice
    after_output: list[FrameProcessor]  # assistant context aggregator
    dialogue: Dialogue
    context: LLMContext
    llm: OpenAILLMService | None


def build_dialogue(
    call: CallSession,
    *,
    llm: LLMConfig | None = None,
    vad_analyzer: Any = None,
    user_turn_strategies: Any = None,
    policy: str | None = None,
) -> DialogueParts:
    """The processors of one call's dialogue.

    ``policy`` is ``"llm"`` or ``"guided"``; by default the LLM when ``llm`` configures one,
    else the guided policy.
    """
    mode = policy or ("llm" if llm else "guided")
    if mode == "llm" and llm is None:
        raise ValueError("the llm policy needs an LLM configuration")
    dialogue = Dialogue(call, mode)
    service: OpenAILLMService | None = None
    tools = function_schemas(dialogue.tools) if mode == "llm" else None
    context = LLMContext(tools=tools) if tools else LLMContext()
    if mode == "llm" and llm is not None:
        service = DialogueLLM(
            timeout_seconds=llm.timeout_seconds,
            api_key=llm.api_key or "not-needed",
            base_url=llm.base_url,
            settings=OpenAILLMService.Settings(
                model=llm.model, system_instruction=system_prompt(call)
            ),
        )
    user_params: dict[str, Any] = {}
    if vad_analyzer is not None:
        user_params["vad_analyzer"] = vad_analyzer
    if user_turn_strategies is not None:
        user_params["user_turn_strategies"] = user_turn_strategies
    pair = LLMContextAggregatorPair(context, user_params=LLMUserAggregatorParams(**user_params))
    voice = AgentVoice(dialogue)
    router = DialogueRouter(dialogue)
    before: list[FrameProcessor] = [pair.user(), router, *([service] if service else []), voice]
    return DialogueParts(
        before_tts=before, after_output=[pair.assistant()], dialogue=dialogue, context=context,
        llm=service,
    )
