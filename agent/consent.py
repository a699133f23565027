"""Consent, enforced in code under the tools, for the guided policy and the LLM alike.

An address is confirmed, and a meeting booked, moved or cancelled, only for what the caller
actually heard and then agreed to. "Heard" is read off the call's transcript, which holds what
left the dialogue for the caller (the TTS on a phone call, the text channel in a test call):
a tool result's words count only once they were said. "Agreed" is the caller's *latest* turn,
said after that, read by the turn reader in the step it answers: a plain yes, or a pick of one
of the times just said. A hold, a question, a negation or a call-back request is no consent,
and one yes is used once (two bookings in one breath need two yeses).

Each check returns ``None`` when the action may go ahead, else a :class:`Refusal` that says
what is missing and what the dialogue (or the model) should do next.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from agent.call_session import CallSession, OfferedSlot
from caller_language.email import nato_readback
from caller_language.time_mentions import mention_matches, time_mentions
from caller_language.time_phrases import OfferContext, parse_time_request
from caller_language.understanding import Expecting, Intent, Turn, read_turn


class Missing(StrEnum):
    """Why an action was refused."""

    NOT_READ_BACK = "not_read_back"  # the address was never read back to the caller
    NOT_SAID = "not_said"  # the time was not said to the caller (day, date and zones)
    NO_ANSWER = "no_answer"  # the caller has not answered since it was said
    NOT_AGREED = "not_agreed"  # the caller's answer is no yes (a hold, question, no ...)
    WHICH_ONE = "which_one"  # several times were said and the yes picks none of them
    USED = "used"  # that yes was already used for another action
    NOT_ASKED = "not_asked"  # the caller did not ask to cancel


@dataclass(frozen=True, slots=True)
class Refusal:
    """An action the caller has not agreed to, and what to do instead."""

    missing: Missing
    next: str


_ADVICE = {
    Missing.NOT_READ_BACK: "read the address back to the caller with capture_email's words "
    "and wait for their answer before calling confirm_email",
    Missing.NOT_SAID: "say the time to the caller with find_slots' words (day, date and "
    "zones) and wait for their answer before booking",
    Missing.NO_ANSWER: "wait for the caller's answer to what you just said",
    Missing.NOT_AGREED: "the caller has not said yes to it; answer what they said or ask again",
    Missing.WHICH_ONE: "several times were said; ask which one the caller wants",
    Missing.USED: "that answer was already used; ask the caller again",
    Missing.NOT_ASKED: "cancel only when the caller asks to cancel",
}


def _refuse(missing: Missing) -> Refusal:
    return Refusal(missing, _ADVICE[missing])


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9@]+", " ", text.lower()).strip()


@dataclass(frozen=True, slots=True)
class _Answer:
    """The caller's latest line and the agent line it answers (indexes into the transcript)."""

    index: int
    text: str
    prompt: str  # the agent's last line before it ("" when the caller spoke first)
    prompt_index: int  # that line's index (-1 when the caller spoke first)


def _latest_answer(session: CallSession, since: int) -> _Answer | None:
    """The caller's latest line, if it came after transcript index ``since``."""
    lines = session.transcript
    for index in range(len(lines) - 1, since, -1):
        if lines[index]["role"] == "caller":
            at = next((i for i in range(index - 1, -1, -1) if lines[i]["role"] == "agent"), -1)
            prompt = lines[at]["text"] if at >= 0 else ""
            return _Answer(index, lines[index]["text"], prompt, at)
        if lines[index]["role"] == "agent":
            return None  # the agent spoke after the caller's last line: no answer to that yet
    return None


def email_consent(session: CallSession) -> Refusal | None:
    """Whether the held address may be confirmed: the caller's latest line is a yes to the
    agent line just before it, and that line read this address back since it was taken."""
    if not session.email:
        return _refuse(Missing.NOT_READ_BACK)
    answer = _latest_answer(session, -1)
    readback = _squash(nato_readback(session.email))
    if answer is None or answer.prompt_index < session.email_taken_at:
        # Nothing said since the address was taken, or no answer to it yet.
        return _refuse(Missing.NO_ANSWER if answer is None else Missing.NOT_READ_BACK)
    if readback not in _squash(answer.prompt):
        return _refuse(Missing.NOT_READ_BACK)
    if answer.index in session.consents_used:
        return _refuse(Missing.USED)
    if not read_turn(answer.text, Expecting.EMAIL_CONFIRM).consents or _names_a_place(
            answer.text, session):
        # "the second one works" picks a time; it says nothing about an address.
        return _refuse(Missing.NOT_AGREED)
    return None


def slot_said(text: str, slot: OfferedSlot, session: CallSession) -> bool:
    """Whether ``text`` says the slot's time with its day and the zones the caller needs.

    Any rendering of the time counts ("2 PM", "two o'clock", "14:00"); the day must be named
    with it (a weekday, a date, today or tomorrow), in the owner's zone, and, when the
    caller's clock reads differently, the caller's time too.
    """
    start, now = slot.slot.start, session.now()
    owner, caller = session.owner_zone, session.caller_zone or session.owner_zone
    zoned = [m for m in time_mentions(text) if m.zone_words]
    owner_side = any(
        mention_matches(m, start, [owner], now)
        for m in zoned if m.weekday is not None or m.day is not None or m.relative_day
    )
    # The caller's side is said when their clock reads differently (say_slot's own rule).
    needs_caller_side = caller != owner and "your time" in slot.spoken
    return owner_side and (
        not needs_caller_side or any(mention_matches(m, start, [caller], now) for m in zoned)
    )


def _said_in(text: str, session: CallSession) -> list[OfferedSlot]:
    """The offered slots ``text`` says, in the order said."""
    said = [(text.find(o.spoken), o) for o in session.offers.values() if slot_said(text, o,
                                                                                  session)]
    return [o for _, o in sorted(said, key=lambda pair: pair[0])]


def _picked(answer: _Answer, turn: Turn, said: list[OfferedSlot], session: CallSession
            ) -> OfferedSlot | None:
    """The slot the caller's answer picks among ``said`` (the only one, or the one named)."""
    request = parse_time_request(
        answer.text, session.now(), session.caller_zone or session.owner_zone,
        OfferContext(on_offer=tuple(o.slot.start for o in said), current=None,
                     owner_zone=session.owner_zone),
    )
    if request is not None and request.choice is not None:
        return said[request.choice]
    if _names_a_place(answer.text, session):
        return None  # "the second one" when only one was said picks nothing
    if len(said) == 1 and turn.consents and not turn.change:
        return said[0]  # "yes that works" to the one time said
    if request is not None:
        named = [o for o in said if request.start <= o.slot.start < request.end]
        if len(named) == 1:
            return named[0]
    return None


def _names_a_place(text: str, session: CallSession) -> bool:
    """Whether ``text`` picks an offer by its place ("the second one"), whatever was said."""
    now = session.now()
    places = tuple(now + timedelta(hours=hour) for hour in range(1, 6))
    request = parse_time_request(
        text, now, session.caller_zone or session.owner_zone,
        OfferContext(on_offer=places, current=None, owner_zone=session.owner_zone),
    )
    return request is not None and request.choice is not None


def slot_consent(session: CallSession, slot_id: str, *, moving: bool = False) -> Refusal | None:
    """Whether ``slot_id`` may be booked (or the meeting moved to it): said, then agreed to."""
    offered = session.offers.get(slot_id)
    if offered is None:
        return _refuse(Missing.NOT_SAID)
    answer = _latest_answer(session, -1)
    if answer is None:
        return _refuse(Missing.NO_ANSWER)
    said = _said_in(answer.prompt, session)
    if offered not in said:
        return _refuse(Missing.NOT_SAID)
    if answer.index in session.consents_used:
        return _refuse(Missing.USED)
    turn = read_turn(answer.text, Expecting.MOVE if moving else Expecting.SLOT)
    picks = turn.intent is Intent.INFO or turn.consents
    if not picks:
        return _refuse(Missing.NOT_AGREED)
    chosen = _picked(answer, turn, said, session)
    if chosen is None:
        return _refuse(Missing.WHICH_ONE if len(said) > 1 else Missing.NOT_AGREED)
    if chosen is not offered:
        return _refuse(Missing.WHICH_ONE)
    if turn.change and not _change_fits(turn.change, offered, session):
        return _refuse(Missing.NOT_AGREED)
    return None


def _change_fits(change: str, offered: OfferedSlot, session: CallSession) -> bool:
    # "yes tuesday works" agrees to a Tuesday slot; "yes but later in the day" does not.
    now: datetime = session.now()
    request = parse_time_request(
        change, now, session.caller_zone or session.owner_zone,
        OfferContext(on_offer=(offered.slot.start,), current=offered.slot.start,
                     owner_zone=session.owner_zone),
    )
    if request is None:
        return not read_turn(change, Expecting.SLOT).later
    if request.choice is not None:
        return True
    return request.start <= offered.slot.start < request.end


def cancel_consent(session: CallSession) -> Refusal | None:
    """Whether the meeting may be cancelled: the caller's latest line asks for it."""
    answer = _latest_answer(session, -1)
    if answer is None:
        return _refuse(Missing.NOT_ASKED)
    if answer.index in session.consents_used:
        return _refuse(Missing.USED)
    turn = read_turn(answer.text, Expecting.ANYTHING_ELSE)
    if turn.cancel and turn.intent not in (
            Intent.HOLD, Intent.QUESTION, Intent.CALL_BACK, Intent.DENY):
        return None
    return _refuse(Missing.NOT_ASKED)


def use_consent(session: CallSession) -> None:
    """The caller's latest line has been acted on: it consents to nothing more."""
    answer = _latest_answer(session, -1)
    if answer is not None:
        session.consents_used.add(answer.index)
