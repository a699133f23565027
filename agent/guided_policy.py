"""The guided policy: a deterministic dialogue manager over the same tools the LLM uses.

It runs when no LLM is configured (a fresh machine has no keys) and takes over when the LLM
fails mid-call, so the call goes on instead of dead air. It follows seed 002's order: greet and
offer a meeting, ask for the e-mail, read it back, ask the caller's zone only when the number
leaves it open, offer a slot, confirm, book, "anything else?", goodbye. Its next step is derived
from the call's state, so it can pick up a call the LLM started. Every line comes from
prompts/lines.j2 or from a tool result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from agent.call_session import CallSession, OfferedSlot
from agent.tools import CallTools, ToolResult, meeting_words
from caller_language.email import nato_readback
from caller_language.time_phrases import parse_time_request
from caller_language.timezones import zone_from_answer
from caller_language.understanding import Reading, read
from prompts import line

MAX_EMAIL_ATTEMPTS = 3

class Step(StrEnum):
    """What the agent's last question was; the caller's next words answer it."""

    OFFER = "offer"
    EMAIL = "email"
    EMAIL_CONFIRM = "email_confirm"
    ZONE = "zone"
    SLOT = "slot"
    MOVE = "move"
    ANYTHING_ELSE = "anything_else"
    DONE = "done"



@dataclass(frozen=True, slots=True)
class Reply:
    """What the agent says next, and whether the call ends after it."""

    text: str
    end: bool = False


# "not today", "I don't want Tuesday": a day the caller rules out is no preference for it.
_RULED_OUT = re.compile(
    r"\b(?:not|no|don't want|do not want|can't do|cannot do|can't make)\s+"
    r"(?:on\s+)?(?:today|tomorrow|monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
    r"(?:\s+(?:morning|afternoon|evening))?\b",
    re.IGNORECASE,
)


def _looks_like_email(text: str) -> bool:
    lowered = f" {text.lower()} "
    return "@" in lowered or (" at " in lowered and (" dot " in lowered or "." in lowered))


class GuidedPolicy:
    """The booking conversation of one call, step by step, over :class:`CallTools`."""

    def __init__(self, session: CallSession, tools: CallTools | None = None) -> None:
        self.session = session
        self.tools = tools or CallTools(session)
        self.expecting: Step | None = None
        self.current_offer: str | None = None
        self.preference: str | None = None
        self.meeting_proposed = False
        self.email_attempts = 0

    # Lines ------------------------------------------------------------------------------

    def greeting(self, *, offer: bool = True) -> Reply:
        """The opening: who is calling and why, then the offer (or the follow-up promise).

        ``offer=False`` (the LLM's calls) asks for a moment instead, so the model offers the
        meeting when the conversation gets there.
        """
        s = self.session
        campaign = s.campaign
        hello = line(
            "greeting", first_name=s.caller_first_name, agent_name=campaign.agent_name,
            business_name=campaign.business_name, purpose=campaign.purpose,
        )
        if s.booking_available:
            self.expecting = Step.OFFER
            if not offer:
                return Reply(f"{hello} {line('good_time')}")
            self.meeting_proposed = True
            return Reply(f"{hello} {self._offer_line()}")
        self.expecting = Step.ANYTHING_ELSE
        follow_up = line("no_booking_follow_up", business_name=campaign.business_name)
        return Reply(f"{hello} {follow_up} {line('anything_else')}")

    def _offer_line(self) -> str:
        booking = self.session.campaign.booking
        return line(
            "offer_meeting", length_minutes=booking.meeting_length_minutes,
            meeting_words=meeting_words(booking.meeting_type),
        )

    def _goodbye(self, before: str = "") -> Reply:
        self.expecting = Step.DONE
        self.session.ended = True
        goodbye = line("goodbye", first_name=self.session.caller_first_name)
        return Reply(f"{before} {goodbye}".strip(), end=True)

    # Taking over ------------------------------------------------------------------------

    def resume(self) -> None:
        """Work out the open question from the call's state (taking over from the LLM)."""
        s = self.session
        if s.ended:
            self.expecting = Step.DONE
        elif s.active_booking() is not None:
            self.expecting = Step.MOVE if s.last_offer_ids else Step.ANYTHING_ELSE
        elif not s.booking_available:
            self.expecting = Step.ANYTHING_ELSE
        elif s.last_offer_ids:
            self.expecting, self.current_offer = Step.SLOT, s.last_offer_ids[0]
        elif s.email and not s.email_confirmed:
            self.expecting = Step.EMAIL_CONFIRM
        elif s.email_confirmed and s.caller_zone is None:
            self.expecting = Step.ZONE
        else:
            self.expecting = Step.OFFER
        if self.current_offer is None and s.last_offer_ids:
            self.current_offer = s.last_offer_ids[0]

    # The conversation -------------------------------------------------------------------

    async def respond(self, text: str) -> Reply:
        """The agent's answer to what the caller just said."""
        if self.expecting is None:
            self.resume()
        s = self.session
        said = read(text)
        if self.expecting == Step.DONE:
            return self._goodbye()
        if said.refusal and s.active_booking() is None:
            s.meeting_declined = True
            return self._goodbye(line("declined"))
        if said.cancel and s.active_booking() is not None:
            result = await self.tools.run("cancel_booking", {})
            self.expecting = Step.ANYTHING_ELSE
            return Reply(result.say)
        if said.goodbye and not said.plain_yes and (
            said.farewell or self.expecting in (Step.ANYTHING_ELSE, Step.OFFER)
        ):
            if s.active_booking() is None and s.booking_available:
                s.meeting_declined = True
            return self._goodbye()
        if said.who and self.expecting == Step.OFFER:
            return self.greeting()
        wants_time = self._time_preference(text, said)
        if s.active_booking() is not None and (said.reschedule or wants_time):
            return await self._offer(preference=wants_time, expecting=Step.MOVE)
        handler = {
            Step.OFFER: self._on_offer, Step.EMAIL: self._on_email,
            Step.EMAIL_CONFIRM: self._on_email_confirm,
            Step.ZONE: self._on_zone, Step.SLOT: self._on_slot, Step.MOVE: self._on_slot,
            Step.ANYTHING_ELSE: self._on_anything_else,
        }[self.expecting or Step.OFFER]
        return await handler(text, said, wants_time)

    def _time_preference(self, text: str, said: Reading) -> str | None:
        # A time the caller asks for at any point is kept as their words and parsed by
        # find_slots once the zone is known.
        s = self.session
        if not s.booking_available or _looks_like_email(text):
            return None
        zone = s.caller_zone or s.owner_zone
        wanted = _RULED_OUT.sub(" ", text)
        if parse_time_request(wanted, s.now(), zone) is not None:
            return wanted
        return None

    async def _on_offer(self, text: str, said: Reading, wants_time: str | None) -> Reply:
        if wants_time:
            self.preference = wants_time
        if _looks_like_email(text):
            return await self._on_email(text, said, None)
        if said.plain_no:
            self.session.meeting_declined = True
            return self._goodbye(line("declined"))
        if (said.yes or wants_time) and not self.meeting_proposed and not wants_time:
            # Taken over before the meeting was offered: offer it now.
            self.meeting_proposed = True
            return Reply(self._offer_line())
        if said.yes or wants_time:
            self.meeting_proposed = True
            self.expecting = Step.EMAIL
            return Reply(line("ask_email"))
        return Reply(line("not_understood", question=self._offer_line()))

    async def _on_email(self, text: str, said: Reading, wants_time: str | None) -> Reply:
        if wants_time and not _looks_like_email(text):
            self.preference = wants_time
            return Reply(line("ask_email"))
        result = await self.tools.run("capture_email", {"spoken": text})
        if result.ok:
            self.expecting = Step.EMAIL_CONFIRM
            return Reply(result.say)
        self.email_attempts += 1
        if self.email_attempts >= MAX_EMAIL_ATTEMPTS:
            # Better a human follow-up than a fourth "could you say it again?".
            self.expecting = Step.ANYTHING_ELSE
            give_up = line("email_give_up", business_name=self.session.campaign.business_name)
            return Reply(f"{give_up} {line('anything_else')}")
        self.expecting = Step.EMAIL
        return Reply(result.say)

    async def _on_email_confirm(self, text: str, said: Reading, wants_time: str | None) -> Reply:
        if said.plain_yes and not _looks_like_email(text):
            confirmed = await self.tools.run("confirm_email", {})
            return await self._advance(confirmed.say)
        # A correction ("no, it's john with an h", "it's at outlook dot com") repairs the held
        # address; a whole new one replaces it.
        result = await self.tools.run("capture_email", {"spoken": text})
        if result.ok:
            self.expecting = Step.EMAIL_CONFIRM
            return Reply(result.say)
        if said.no:
            self.expecting = Step.EMAIL
            return Reply(line("ask_email_again"))
        # Neither a yes nor an address: read it back once more.
        readback = line("email_readback", readback=nato_readback(self.session.email or ""))
        return Reply(line("not_understood", question=readback))

    async def _advance(self, prefix: str) -> Reply:
        """After the e-mail: the zone if the number left it open, else the first offer."""
        s = self.session
        if s.caller_zone is None:
            self.expecting = Step.ZONE
            ask = line("ask_zone", candidates=self.tools.candidate_names())
            return Reply(f"{prefix} {ask}")
        return await self._offer(prefix=prefix, preference=self.preference)

    async def _on_zone(self, text: str, said: Reading, wants_time: str | None) -> Reply:
        result = await self.tools.run("set_caller_zone", {"answer": text})
        if wants_time:
            self.preference = wants_time
        if not result.ok:
            return Reply(result.say)
        return await self._offer(prefix=result.say, preference=self.preference)

    async def _offer(
        self, *, prefix: str = "", preference: str | None = None,
        after: str | None = None, earlier_than: str | None = None, expecting: Step = Step.SLOT,
    ) -> Reply:
        """Offer one slot (the earliest matching), said after ``prefix``."""
        args: dict[str, object] = {"limit": 1}
        if preference:
            args["preference"] = preference
        if after:
            args["after_slot_id"] = after
        if earlier_than:
            args["before_slot_id"] = earlier_than
        result: ToolResult = await self.tools.run("find_slots", args)
        if not result.ok:
            if self.session.caller_zone is None:
                self.expecting = Step.ZONE
                return Reply(f"{prefix} {result.say}".strip())
            self.expecting = Step.ANYTHING_ELSE
            return Reply(f"{prefix} {result.say} {line('anything_else')}".strip())
        self.preference = None
        self.current_offer = result.data["slots"][0]["slot_id"]
        self.expecting = expecting
        return Reply(f"{prefix} {result.say}".strip())

    async def _on_slot(self, text: str, said: Reading, wants_time: str | None) -> Reply:
        s = self.session
        moving = self.expecting == Step.MOVE
        zone = zone_from_answer(text, s.zone_candidates, owner_zone=s.owner_zone)
        if zone is not None and zone != s.caller_zone and not wants_time:
            # The caller corrects the zone stated in the offer: say the same slot their way.
            result = await self.tools.run("set_caller_zone", {"answer": text})
            offered = s.offers.get(self.current_offer or "")
            if offered is None:
                return await self._offer(prefix=result.say, expecting=self.expecting or Step.SLOT)
            respoken = OfferedSlot(offered.slot_id, offered.slot, self.tools.spoken(offered.slot))
            s.offers[offered.slot_id] = respoken
            s.last_offer_ids = [offered.slot_id]
            return Reply(f"{result.say} {line('offer_slot', spoken=respoken.spoken)}")
        if wants_time and not (said.plain_yes and self._offer_fits(wants_time)):
            # "What about Thursday?", "1 PM is fine after all": offer what they named.
            return await self._offer(preference=wants_time, expecting=self.expecting or Step.SLOT)
        if moving and said.keep:
            booked = s.active_booking()
            self.expecting, self.current_offer = Step.ANYTHING_ELSE, None
            s.last_offer_ids = []
            kept = line("kept", spoken=self.tools.spoken(booked.slot)) if booked else ""
            return Reply(f"{kept} {line('anything_else')}".strip())
        if said.later:
            return await self._offer(
                after=self.current_offer, expecting=self.expecting or Step.SLOT)
        if said.earlier:
            return await self._offer(earlier_than=self.current_offer,
                                     expecting=self.expecting or Step.SLOT)
        if said.plain_yes and self.current_offer:
            name = "reschedule_booking" if moving else "book_slot"
            result = await self.tools.run(name, {"slot_id": self.current_offer})
            if result.ok:
                self.expecting, self.current_offer = Step.ANYTHING_ELSE, None
                return Reply(result.say)
            slots = result.data.get("slots")
            if slots:
                # First confirm wins: the slot was just taken; the result offers the next one.
                self.current_offer = slots[0]["slot_id"]
                return Reply(result.say)
            if s.email and not s.email_confirmed:
                self.expecting = Step.EMAIL_CONFIRM
            elif not s.email:
                self.expecting = Step.EMAIL
            else:
                self.expecting = Step.ANYTHING_ELSE
            return Reply(result.say)
        if said.no:
            if said.goodbye:
                return self._goodbye(line("declined"))
            # Declined this time: offer the next one.
            return await self._offer(
                after=self.current_offer, expecting=self.expecting or Step.SLOT)
        offered = s.offers.get(self.current_offer or "")
        question = line("offer_slot", spoken=offered.spoken) if offered else self._offer_line()
        return Reply(line("not_understood", question=question))

    def _offer_fits(self, wanted: str) -> bool:
        """Whether the slot on offer is what the caller just named ("yes, Wednesday works")."""
        s = self.session
        offered = s.offers.get(self.current_offer or "")
        request = parse_time_request(wanted, s.now(), s.caller_zone or s.owner_zone)
        if offered is None or request is None:
            return False
        if request.exact:
            return offered.slot.start == request.start
        return request.start <= offered.slot.start < request.end

    async def _on_anything_else(self, text: str, said: Reading, wants_time: str | None) -> Reply:
        s = self.session
        if said.no or said.goodbye or said.thanks:
            return self._goodbye()
        if wants_time and s.booking_available:
            self.preference = wants_time
            if s.email_confirmed:
                return await self._offer(preference=wants_time)
            self.expecting = Step.EMAIL
            return Reply(line("ask_email"))
        if said.yes and s.booking_available and s.active_booking() is None:
            return await self._on_offer(text, said, wants_time)
        if not s.booking_available:
            # Asking to book, or anything else: this call cannot book, someone will follow up.
            follow_up = line("no_booking_follow_up", business_name=s.campaign.business_name)
            return Reply(f"{follow_up} {line('anything_else')}")
        return Reply(line("not_understood", question=line("anything_else")))
