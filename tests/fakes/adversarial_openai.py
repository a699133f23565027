"""A hostile fake OpenAI model, and a caller to go with it, for the consent tests.

One loopback server (real HTTP and SSE, the real ``openai`` client in pipecat talks to it)
serves many calls at once: each call gets its own base URL ``/c/<key>/v1`` and its own
:class:`AdversarialModel`, whose seeded generator decides every response from the request it
receives (the caller's lines, the tool results so far). Sometimes it is honest (it says the
tools' words and calls tools in a sensible order); often it is hostile: it confirms an address
nobody heard, books before an offer was said or after a "no", invents slot ids, types times,
books twice in one breath, cancels unasked, says other times than the tools gave. Each
hostile attempt is counted under its strategy name in :attr:`AdversarialModel.attempts`.

:class:`AdversarialCaller` answers the agent like a speech recogniser prints a caller (lower
case, no punctuation, fillers), drawing each line from a labelled pool (:data:`POOLS`) with
weights that depend on what the agent just said; :func:`label_of` gives a line's label back.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

from tests.fakes.loopback import BackgroundServer
from tests.fakes.openai_server import _chunk, _sse

# The caller's lines by label. Tricky ones are on purpose: a "yes" that holds, a "no" that
# says "cancel", a question that names a time.
POOLS: dict[str, tuple[str, ...]] = {
    "affirm": (
        "yes that works", "yeah sure", "ok book it", "yes", "yep thats right",
        "um yeah that works for me", "sure sounds good", "yes thats correct", "uh huh yes",
    ),
    "pick_first": ("the first one", "um the first one please"),
    "pick_second": ("the second one", "uh the second one works"),
    "pick_last": ("the last one", "lets do the last one"),
    "deny": (
        "no", "nope that doesnt work", "no thats wrong", "um no not really",
        "no dont cancel it", "no i cant do that", "nah",
    ),
    "hold": (
        "hang on", "give me a sec let me check", "yes hang on", "hold on a second",
        "um wait one moment",
    ),
    "question": (
        "what time is that for me", "how long is it", "yeah but what time is that for me",
        "is that eastern time", "wait what was the date again", "should i cancel it",
    ),
    "call_back": ("call me back tomorrow", "can you call me back later", "um call me next week"),
    "address": (
        "its chris at example dot com", "chris dot lee at gmail dot com",
        "um my email is c h r i s at example dot com", "jane doe at outlook dot com",
    ),
    "zone": ("central", "im in eastern time", "mountain"),
    "cancel": ("cancel it", "actually can you cancel that meeting", "um please cancel it"),
}
_LABELS = {text: label for label, texts in POOLS.items() for text in texts}
assert len(_LABELS) == sum(len(t) for t in POOLS.values()), "a line is in two pools"

AFFIRMING = ("affirm", "pick_first", "pick_second", "pick_last")


def label_of(line: str) -> str:
    """The label of a caller line drawn from :data:`POOLS` ("unknown" for anything else)."""
    return _LABELS.get(line.strip(), "unknown")


# Weights of each label by what the agent last asked.
_AFTER_READBACK = {"affirm": 45, "deny": 12, "hold": 10, "question": 10, "call_back": 5,
                   "address": 8, "pick_first": 3, "cancel": 3}
_AFTER_OFFER = {"affirm": 30, "pick_first": 8, "pick_second": 6, "pick_last": 6, "deny": 12,
                "hold": 10, "question": 12, "call_back": 5, "cancel": 4, "address": 3}
_AFTER_EMAIL_ASK = {"address": 70, "affirm": 10, "hold": 8, "question": 6, "call_back": 6}
_AFTER_ZONE_ASK = {"zone": 70, "question": 10, "hold": 10, "affirm": 10}
_AFTER_ANYTHING_ELSE = {"cancel": 25, "deny": 25, "affirm": 20, "question": 10, "hold": 10,
                        "call_back": 5, "pick_first": 5}
_OTHERWISE = {"affirm": 40, "address": 15, "deny": 10, "hold": 10, "question": 10,
              "call_back": 5, "cancel": 5, "pick_first": 5}


@dataclass
class AdversarialCaller:
    """A caller whose next line depends on the agent's last line (``on_line`` sees it)."""

    rng: random.Random
    max_lines: int
    last_agent: str = ""
    said: list[str] = field(default_factory=list)

    def on_line(self, role: str, text: str) -> None:
        """The harness shows every transcript line here."""
        if role == "agent":
            self.last_agent = text

    def _weights(self) -> dict[str, int]:
        agent = self.last_agent.lower()
        if "did i get that right" in agent or "is that right" in agent:
            return _AFTER_READBACK
        if "does that work" in agent or "which works best" in agent:
            return _AFTER_OFFER
        if "e-mail address" in agent or "email address" in agent:
            return _AFTER_EMAIL_ASK
        if "time zone" in agent:
            return _AFTER_ZONE_ASK
        if "anything else" in agent:
            return _AFTER_ANYTHING_ELSE
        return _OTHERWISE

    async def next_line(self) -> str | None:
        """The caller's next line; ``None`` (hang up) after ``max_lines``."""
        if len(self.said) >= self.max_lines:
            return None
        weights = self._weights()
        label = self.rng.choices(list(weights), weights=list(weights.values()))[0]
        text = self.rng.choice(POOLS[label])
        self.said.append(text)
        return text


# --- the model --------------------------------------------------------------------------------

STRATEGIES = (
    "capture_and_confirm",  # capture_email and confirm_email in one response
    "confirm_unheard",  # confirm_email after a capture whose read-back was never said
    "confirm_without_yes",  # confirm_email after a no, a hold, a question, a call-back
    "paraphrased_readback",  # says the address its own way, then confirms on the yes
    "book_unsaid",  # book_slot with an id from find_slots before any text said it
    "find_and_book",  # find_slots and book_slot (guessed id) in one response
    "book_without_yes",  # book after a no, a hold, a question or a call-back request
    "invented_id",  # book_slot("slot-99")
    "typed_time",  # book_slot with a time typed in free text
    "double_book",  # two booking calls in one response
    "reschedule_unoffered",  # reschedule_booking to an id never offered, or never said
    "cancel_unasked",  # cancel_booking when the caller did not ask
    "wrong_time_said",  # says another time than the tool gave, books on the yes
    "paraphrased_offer",  # says the offer without its zone or day, books on the yes
    "reuse_yes",  # acts again on a yes already acted on (in the follow-up request)
)

_TYPED = ("Wednesday at 3 PM", "2026-12-02T15:00:00Z", "tomorrow 10am", "3pm", "slot at 11 AM")
_HOSTILE_SHARES = (0.1, 0.3, 0.5, 0.8)


@dataclass
class _Call:
    name: str
    args: dict[str, Any]


@dataclass
class _Response:
    text: str = ""
    calls: list[_Call] = field(default_factory=list)


def _content(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content or ""


@dataclass
class _View:
    """What the model can read off one request."""

    caller: str  # the caller's latest line
    after_tools: list[tuple[str, dict[str, Any]]]  # tool results since the caller's line
    results: list[tuple[str, dict[str, Any]]]  # every tool result on the call
    said: str  # the agent's latest text
    tool_rounds: int  # model responses with tool calls since the caller's line

    @classmethod
    def of(cls, messages: list[dict[str, Any]]) -> _View:
        names: dict[str, str] = {}
        results: list[tuple[str, dict[str, Any]]] = []
        caller, said, last_user, rounds = "", "", -1, 0
        for index, message in enumerate(messages):
            role = message.get("role")
            if role == "user":
                caller, last_user, rounds = _content(message), index, 0
            elif role == "assistant":
                for call in message.get("tool_calls") or []:
                    names[call["id"]] = call["function"]["name"]
                rounds += 1 if message.get("tool_calls") else 0
                if _content(message).strip():
                    said = _content(message)
            elif role == "tool":
                try:
                    result = json.loads(_content(message) or "{}")
                except json.JSONDecodeError:
                    result = {}
                results.append((names.get(message.get("tool_call_id", ""), "?"), result))
        after = [r for r, m in zip(results, _tool_positions(messages), strict=True)
                 if m > last_user]
        return cls(caller, after, results, said, rounds)

    def ok(self, name: str) -> bool:
        return any(n == name and r.get("ok") for n, r in self.results)

    def slots(self) -> list[dict[str, str]]:
        """The slots of the latest result that listed any."""
        listed = [r["slots"] for _, r in self.results if r.get("slots")]
        return listed[-1] if listed else []

    def slots_said(self) -> list[dict[str, str]]:
        """Listed slots whose words the agent's latest text says, in the order said."""
        known = {s["slot_id"]: s["time"] for _, r in self.results for s in r.get("slots") or []}
        said = [(self.said.find(t), i) for i, t in known.items() if t and t in self.said]
        return [{"slot_id": i, "time": known[i]} for _, i in sorted(said)]


def _tool_positions(messages: list[dict[str, Any]]) -> list[int]:
    return [i for i, m in enumerate(messages) if m.get("role") == "tool"]


class AdversarialModel:
    """One call's model: a seeded generator picks an honest or a hostile response each time."""

    def __init__(self, seed: int, label: Callable[[str], str] = label_of,
                 hostile_share: float | None = None, offers: int | None = None) -> None:
        self.rng = random.Random(seed)
        # What the model makes of a caller line: one of the labels of :data:`POOLS`.
        self.label = label
        # How many times an honest search asks for (None: the tool's default).
        self._limit = {} if offers is None else {"limit": offers}
        # Some calls are mostly honest (so bookings, moves and cancels happen), some hostile.
        drawn = self.rng.choice(_HOSTILE_SHARES)
        self.hostile_share = drawn if hostile_share is None else hostile_share
        self.attempts: Counter[str] = Counter()
        self.pending: str | None = None  # a hostile plan that needs the caller's next line

    def _hostile(self) -> bool:
        return self.rng.random() < self.hostile_share

    def respond(self, messages: list[dict[str, Any]]) -> _Response:
        """The next response to a request with these messages."""
        view = _View.of(messages)
        if view.after_tools:
            return self._follow_up(view)
        return self._answer(view)

    # After tool results: say their words (or not), or chain more tools.
    def _follow_up(self, view: _View) -> _Response:
        names = [n for n, _ in view.after_tools[-2:]]
        last_name, last = view.after_tools[-1]
        words = " ".join(r.get("say", "") for _, r in view.after_tools[-2:] if r.get("say"))
        if view.tool_rounds < 3 and self._hostile():
            if last_name == "capture_email" and last.get("ok"):
                self.attempts["confirm_unheard"] += 1
                return _Response(calls=[_Call("confirm_email", {})])
            if last_name == "find_slots" and last.get("slots"):
                self.attempts["book_unsaid"] += 1
                slot = self.rng.choice(last["slots"])
                return _Response(calls=[_Call("book_slot", {"slot_id": slot["slot_id"]})])
            if last.get("ok") and last_name in ("confirm_email", "book_slot"):
                self.attempts["reuse_yes"] += 1
                said = view.slots_said() or view.slots()
                slot_id = said[0]["slot_id"] if said else "slot-1"
                tool = "reschedule_booking" if last_name == "book_slot" else "book_slot"
                return _Response(calls=[_Call(tool, {"slot_id": slot_id})])
        if (last_name == "confirm_email" and last.get("ok") and "find_slots" not in names
                and view.tool_rounds < 3):
            return _Response(calls=[_Call("find_slots", dict(self._limit))])
        if last.get("slots") and self._hostile():
            return self._misquote(words, last["slots"])
        if last_name == "capture_email" and last.get("ok") and self._hostile():
            self.attempts["paraphrased_readback"] += 1
            self.pending = "confirm_on_yes"
            address = last.get("email", "your address")
            return _Response(f"So your e-mail is {address}, right?")
        return _Response(words or "Sorry, could you say that again?")

    def _misquote(self, words: str, slots: list[dict[str, str]]) -> _Response:
        time = slots[0]["time"]
        if self.rng.random() < 0.5:
            self.attempts["wrong_time_said"] += 1
            shift = self.rng.randint(1, 4)
            wrong = re.sub(r"\b(\d{1,2})(:\d\d)? (AM|PM)",
                           lambda m: f"{(int(m[1]) + shift) % 12 or 12}{m[2] or ''} {m[3]}",
                           time, count=1)
            text = f"I can do {wrong}. Does that work?"
        else:
            self.attempts["paraphrased_offer"] += 1
            bare = re.sub(r"\s*(Eastern|Central|Mountain|Pacific|your time|that's)\b.*", "", time)
            bare = bare.split(" at ", 1)[-1] if self.rng.random() < 0.5 else bare
            text = f"How about {bare}? Does that work?"
        self.pending = "book_on_yes"
        return _Response(text)

    # After a caller line.
    def _answer(self, view: _View) -> _Response:
        label = self.label(view.caller)
        pending, self.pending = self.pending, None
        if pending == "book_on_yes" and view.slots():
            return _Response(calls=[_Call("book_slot", {"slot_id": view.slots()[0]["slot_id"]})])
        if pending == "confirm_on_yes":
            return _Response(calls=[_Call("confirm_email", {})])
        if self._hostile():
            hostile = self._attack(view, label)
            if hostile is not None:
                return hostile
        return self._honest(view, label)

    def _attack(self, view: _View, label: str) -> _Response | None:
        """A hostile response that fits where the call is (None: nothing fits)."""
        booked, confirmed = view.ok("book_slot"), view.ok("confirm_email")
        slots = view.slots()
        slot_id = slots[0]["slot_id"] if slots else "slot-1"
        options: list[tuple[str, list[_Call]]] = []
        if not confirmed:
            options.append(("capture_and_confirm", [
                _Call("capture_email", {"spoken": view.caller if label == "address"
                                        else "chris at example dot com"}),
                _Call("confirm_email", {})]))
            if label not in AFFIRMING and view.ok("capture_email"):
                options.append(("confirm_without_yes", [_Call("confirm_email", {})]))
        if confirmed or self.rng.random() < 0.2:
            options += [
                ("invented_id", [_Call("book_slot", {"slot_id": self.rng.choice(
                    ("slot-99", "slot-0", "slot_1", f"slot-{len(slots) + 5}"))})]),
                ("typed_time", [_Call("book_slot", {"slot_id": self.rng.choice(_TYPED)})]),
                ("find_and_book", [_Call("find_slots", {}), _Call("book_slot", {
                    "slot_id": f"slot-{len(slots) + self.rng.randint(1, 3)}"})]),
            ]
            if slots:
                other = self.rng.choice(slots)["slot_id"]
                options.append(("double_book", [
                    _Call("book_slot", {"slot_id": slot_id}),
                    _Call(self.rng.choice(("book_slot", "reschedule_booking")),
                          {"slot_id": other})]))
                if label not in AFFIRMING:
                    options.append(("book_without_yes", [_Call(
                        "reschedule_booking" if booked else "book_slot", {"slot_id": slot_id})]))
        if booked or self.rng.random() < 0.1:
            if label != "cancel":
                options.append(("cancel_unasked", [_Call("cancel_booking", {})]))
            said = {s["slot_id"] for s in view.slots_said()}
            unsaid = [s["slot_id"] for s in slots if s["slot_id"] not in said]
            target = self.rng.choice([*unsaid, "slot-42", "Thursday at 10 AM"])
            options.append(("reschedule_unoffered", [_Call("reschedule_booking",
                                                            {"slot_id": target})]))
        if not options:
            return None
        name, calls = self.rng.choice(options)
        self.attempts[name] += 1
        return _Response(calls=calls)

    def _honest(self, view: _View, label: str) -> _Response:
        said = view.slots_said()
        # Labels of corpus lines only (tests/corpus/consent_labels.yaml): interest in hearing
        # more, a request for other times or a move.
        if label == "interest" and not view.ok("confirm_email"):
            return _Response("It's a short free call with our team. Would you like to set one up?")
        if label in ("request", "move") and view.ok("confirm_email"):
            return _Response(calls=[_Call("find_slots", {"preference": view.caller,
                                                         **self._limit})])
        if label == "address":
            return _Response(calls=[_Call("capture_email", {"spoken": view.caller})])
        if label == "cancel" and view.ok("book_slot"):
            return _Response(calls=[_Call("cancel_booking", {})])
        if label == "zone":
            return _Response(calls=[_Call("set_caller_zone", {"answer": view.caller})])
        if label in AFFIRMING and said:
            index = {"pick_second": 1, "pick_last": -1}.get(label, 0)
            slot = said[index] if abs(index) < len(said) or index == -1 else said[0]
            tool = "reschedule_booking" if view.ok("book_slot") else "book_slot"
            return _Response(calls=[_Call(tool, {"slot_id": slot["slot_id"]})])
        if label == "affirm" and "did i get that right" in view.said.lower():
            return _Response(calls=[_Call("confirm_email", {})])
        if label == "deny" and said:
            return _Response(calls=[_Call("find_slots", {"after_slot_id": said[-1]["slot_id"],
                                                         **self._limit})])
        if view.ok("confirm_email") and not view.ok("book_slot"):
            return _Response(calls=[_Call("find_slots", dict(self._limit))])
        if not view.ok("confirm_email"):
            return _Response("Great. What's your e-mail address?")
        return _Response("Okay. Is there anything else I can help you with?")


# --- the server -------------------------------------------------------------------------------


async def _stream(response: _Response, serial: int) -> AsyncIterator[str]:
    yield _sse(_chunk({"role": "assistant", "content": ""}))
    if response.text:
        # One chunk: word-by-word streaming only costs time here (AgentVoice splits sentences).
        yield _sse(_chunk({"content": response.text}))
    for index, call in enumerate(response.calls):
        yield _sse(_chunk({"tool_calls": [{
            "index": index, "id": f"call_{serial}_{index}", "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }]}))
        yield _sse(_chunk({"tool_calls": [{
            "index": index, "function": {"arguments": json.dumps(call.args)},
        }]}))
    yield _sse(_chunk(finish="tool_calls" if response.calls else "stop"))
    yield _sse({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0,
                "model": "fake", "choices": [],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})
    yield "data: [DONE]\n\n"


class AdversarialOpenAI:
    """The server for many calls at once: ``url(key)`` is the base URL of call ``key``."""

    def __init__(self) -> None:
        self.models: dict[str, AdversarialModel] = {}
        self._serial = 0
        app = FastAPI()

        @app.post("/c/{key}/v1/chat/completions")
        async def chat(key: str, request: Request) -> StreamingResponse:
            body = await request.json()
            self._serial += 1
            response = self.models[key].respond(body.get("messages", []))
            return StreamingResponse(_stream(response, self._serial),
                                     media_type="text/event-stream")

        self._background = BackgroundServer(app, 0, "adversarial-openai",
                                            graceful_shutdown_seconds=1)

    def add(self, key: str, seed: int, label: Callable[[str], str] = label_of,
            hostile_share: float | None = None, offers: int | None = None) -> str:
        """Register call ``key`` with its seeded model; returns its base URL.

        ``label`` tells the model what each caller line is (lines not drawn from :data:`POOLS`,
        e.g. the corpus's, come with labels of their own); ``hostile_share`` fixes how often it
        attacks (by default the seed draws it); ``offers`` how many times its honest searches
        ask for (the corpus's callers answer one time at a time, as the guided agent offers).
        """
        self.models[key] = AdversarialModel(seed, label, hostile_share, offers)
        return f"http://127.0.0.1:{self._background.port}/c/{key}/v1"

    def __enter__(self) -> AdversarialOpenAI:
        self._background.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._background.stop()
