"""The guided policy: a deterministic dialogue manager over the same tools the LLM uses.

It runs when no LLM is configured (a fresh machine has no keys) and takes over when the LLM
fails mid-call, so the call goes on instead of dead air. The call goes as a person's would:
greeting, who and why, an open question; the meeting is offered when the caller shows
interest; then the e-mail (read back letter by letter, repaired rather than restarted), the
caller's zone when the number leaves it open, one time at a time inside the caller's day, the
booking, "anything else?", goodbye. Every caller turn is read once, in the step it answers
(:func:`caller_language.understanding.read_turn`): holds, questions, call-back and
do-not-call requests are handled at any step, and none of them books anything (the tools
check consent themselves). Every line comes from prompts/lines.j2 or from a tool result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.call_session import CallSession, OfferedSlot
from agent.tools import CallTools, ToolResult, meeting_words
from caller_language.email import is_partial_email, nato_readback
from caller_language.timezones import zone_from_answer
from caller_language.understanding import Expecting, Intent, Question, Turn, read_turn
from prompts import line

MAX_EMAIL_ATTEMPTS = 3
# Times said at once when the caller asks what is free ("what do you have on friday").
MAX_CHOICES = 3
# After this many times turned down, the agent asks what suits instead of stepping on.
DECLINES_BEFORE_ASKING = 2

__all__ = ["GuidedPolicy", "Reply"]


@dataclass(frozen=True, slots=True)
class Reply:
    """What the agent says next, and whether the call ends after it."""

    text: str
    end: bool = False


def _looks_like_email(text: str) -> bool:
    lowered = f" {text.lower()} "
    return "@" in lowered or (" at " in lowered and (" dot " in lowered or "." in lowered))


_WORD = re.compile(r"[a-z]+")
_SMALL_WORDS = frozenset(
    "a an the is are do does did you your i me my to of for it this that what how".split()
)


def _content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower().replace("'", "")) if w not in _SMALL_WORDS}


class GuidedPolicy:
    """The booking conversation of one call, step by step, over :class:`CallTools`."""

    def __init__(self, session: CallSession, tools: CallTools | None = None) -> None:
        self.session = session
        self.tools = tools or CallTools(session)
        self.expecting: Expecting | None = None
        self.done = False
        self.question = ""  # the question the agent asked last, to ask again after an aside
        self.current_offer: str | None = None
        self.preference: str | None = None
        self.meeting_proposed = False
        self.email_attempts = 0
        self.declines = 0

    # Lines ------------------------------------------------------------------------------

    def greeting(self) -> Reply:
        """The opening: who is calling and why, then an open question (never the booking ask)."""
        s = self.session
        campaign = s.campaign
        hello = line(
            "greeting", first_name=s.caller_first_name, agent_name=campaign.agent_name,
            business_name=campaign.business_name, purpose=campaign.purpose,
        )
        if s.booking_available:
            return self._ask(Expecting.OPENER, line("good_time"), before=hello)
        follow_up = line("no_booking_follow_up", business_name=campaign.business_name)
        return self._ask(Expecting.ANYTHING_ELSE, line("anything_else"),
                         before=f"{hello} {follow_up}")

    def _ask(self, step: Expecting, question: str, *, before: str = "") -> Reply:
        """Say ``before`` then ``question``, and expect its answer next."""
        self.expecting, self.question = step, question
        return Reply(f"{before} {question}".strip())

    def _offer_meeting_line(self) -> str:
        booking = self.session.campaign.booking
        return line(
            "offer_meeting", length_minutes=booking.meeting_length_minutes,
            meeting_words=meeting_words(booking.meeting_type),
        )

    def _pitch(self) -> Reply:
        """A talking point, then the meeting."""
        self.meeting_proposed = True
        campaign = self.session.campaign
        point = campaign.talking_points[0] if campaign.talking_points else line(
            "purpose_point", purpose=campaign.purpose)
        return self._ask(Expecting.MEETING, self._offer_meeting_line(), before=point)

    def _goodbye(self, before: str = "") -> Reply:
        self.done = True
        self.session.ended = True
        goodbye = line("goodbye", first_name=self.session.caller_first_name)
        return Reply(f"{before} {goodbye}".strip(), end=True)

    # Taking over ------------------------------------------------------------------------

    def resume(self) -> None:
        """Work out the open question from the call's state (taking over from the LLM)."""
        s = self.session
        self.done = s.ended
        if s.active_booking() is not None:
            self.expecting = Expecting.MOVE if s.last_offer_ids else Expecting.ANYTHING_ELSE
        elif not s.booking_available:
            self.expecting = Expecting.ANYTHING_ELSE
        elif s.last_offer_ids:
            self.expecting, self.current_offer = Expecting.SLOT, s.last_offer_ids[0]
        elif s.email and not s.email_confirmed:
            self.expecting = Expecting.EMAIL_CONFIRM
        elif s.email_confirmed and s.caller_zone is None:
            self.expecting = Expecting.ZONE
        elif s.email_confirmed:
            self.expecting = Expecting.ANYTHING_ELSE
        else:
            # Nothing of the booking happened yet: the opener's question is still open.
            self.expecting = Expecting.OPENER
        if self.current_offer is None and s.last_offer_ids:
            self.current_offer = s.last_offer_ids[0]
        self.meeting_proposed = self.expecting is not Expecting.OPENER
        self.question = self._question_for(self.expecting)

    def _question_for(self, step: Expecting) -> str:
        s = self.session
        offered = s.offers.get(self.current_offer or "")
        if step in (Expecting.SLOT, Expecting.MOVE) and offered is not None:
            return line("offer_slot", spoken=offered.spoken)
        if step is Expecting.EMAIL_CONFIRM and s.email:
            return line("email_readback", readback=nato_readback(s.email))
        if step is Expecting.EMAIL:
            return line("ask_email")
        if step is Expecting.ZONE:
            return line("ask_zone", candidates=self.tools.candidate_names())
        if step is Expecting.MEETING:
            return self._offer_meeting_line()
        if step is Expecting.OPENER:
            return line("good_time")
        return line("anything_else")

    # The conversation -------------------------------------------------------------------

    async def respond(self, text: str) -> Reply:
        """The agent's answer to what the caller just said."""
        if self.expecting is None:
            self.resume()
        if self.done:
            return self._goodbye()
        s = self.session
        step = self.expecting or Expecting.MEETING
        turn = read_turn(text, step)
        if reply := self._anytime(turn):
            return reply
        wants = self._time_wanted(turn, step)
        if turn.intent is Intent.QUESTION:
            # "what times do you have" asks for times even with no day or hour in it.
            asks_times = turn.question is Question.TIMES
            if asks_times and not s.email_confirmed:
                return await self._answer(turn)  # interest: the meeting comes first
            if not (wants or asks_times) or turn.question not in (
                    None, Question.OTHER, Question.WHAT_NEXT, Question.TIMES):
                return await self._answer(turn)
            if wants and self._offer_fits(wants):
                # "so thats the earliest one is it": yes, it is; the question stays open.
                return Reply(f"{self._stock_answer(Question.TIME_AGAIN)} {self.question}")
            if s.email_confirmed:
                # "what times are free on friday" is a request, not a question to answer: the
                # caller asked for times, so they hear a few to choose from (one when they
                # asked for the latest, the earliest or an exact time).
                request = self.tools.read_preference(wants) if wants else None
                one = wants is not None and (
                    request is None or request.latest or request.earliest or request.exact)
                return await self._offer(preference=wants, step=self._offer_step(step),
                                         several=not one, explain=bool(wants))
        if turn.cancel and s.active_booking() is not None:
            result = await self.tools.run("cancel_booking", {})
            return self._ask(Expecting.ANYTHING_ELSE, line("anything_else"),
                             before=result.say.removesuffix(line("anything_else")).strip())
        if s.active_booking() is not None and step is not Expecting.MOVE and (
                turn.reschedule or wants):
            return await self._offer(preference=wants, step=Expecting.MOVE)
        handler = {
            Expecting.OPENER: self._on_opener, Expecting.MEETING: self._on_meeting,
            Expecting.EMAIL: self._on_email, Expecting.EMAIL_CONFIRM: self._on_email_confirm,
            Expecting.ZONE: self._on_zone, Expecting.SLOT: self._on_slot,
            Expecting.MOVE: self._on_slot, Expecting.ANYTHING_ELSE: self._on_anything_else,
        }[step]
        return await handler(text, turn, wants)

    def _anytime(self, turn: Turn) -> Reply | None:
        """What any step answers the same way: opt-outs, call-backs, holds, repeats, goodbyes."""
        s = self.session
        if turn.intent is Intent.DO_NOT_CALL:
            s.do_not_call = True
            s.meeting_declined = s.active_booking() is None
            return self._goodbye(line("do_not_call_ack", business_name=s.campaign.business_name))
        if turn.intent is Intent.CALL_BACK:
            s.call_back_requested, s.call_back_when = True, turn.call_back_when
            return self._goodbye(line(
                "call_back_ack", when=turn.call_back_when or "",
                business_name=s.campaign.business_name))
        if turn.intent is Intent.HOLD:
            return Reply(line("hold_ack", question=self.question))
        if turn.intent is Intent.REPEAT:
            return Reply(line("repeat", question=self.question))
        if turn.intent is Intent.NOT_INTERESTED and s.active_booking() is None:
            s.meeting_declined = True
            return self._goodbye(line("declined"))
        if turn.intent is Intent.GOODBYE or (turn.farewell and not turn.consents):
            if self.expecting in (Expecting.EMAIL, Expecting.EMAIL_CONFIRM) and (
                    self.email_attempts or s.email):
                # They wanted the meeting; the address never came clear: a person follows up.
                s.human_follow_up = True
                return self._goodbye(
                    line("email_give_up", business_name=s.campaign.business_name))
            if s.active_booking() is None and self.meeting_proposed and s.booking_available:
                s.meeting_declined = True
            return self._goodbye()
        return None

    def _time_wanted(self, turn: Turn, step: Expecting) -> str | None:
        """The caller's words for a time they want, if this turn names one."""
        s = self.session
        if not s.booking_available or _looks_like_email(turn.text) or step in (
                Expecting.EMAIL, Expecting.EMAIL_CONFIRM):
            return None
        # The whole turn first: "i dont want today, do you have wednesday" needs the "dont".
        for words in (turn.text, turn.change):
            if words and self.tools.read_preference(words) is not None:
                return words
        return None

    # Questions ----------------------------------------------------------------------------

    async def _answer(self, turn: Turn) -> Reply:
        """Answer a question, then ask again what was open (or offer the meeting)."""
        s = self.session
        campaign = s.campaign
        if turn.question in (Question.WHAT_NEXT, Question.TIMES) and s.booking_available and (
                self.expecting in (Expecting.OPENER, Expecting.MEETING)):
            return self._pitch()
        answer = self._faq(turn.text) or self._stock_answer(turn.question)
        if answer is None:
            answer = line("answer_unknown", business_name=campaign.business_name)
        if self.expecting is Expecting.OPENER and s.booking_available:
            # A question is interest: answered, the meeting is the natural next step.
            self.meeting_proposed = True
            return self._ask(Expecting.MEETING, self._offer_meeting_line(), before=answer)
        return Reply(f"{answer} {self.question}".strip())

    def _faq(self, text: str) -> str | None:
        asked = _content_words(text)
        for question, answer in self.session.campaign.faq.items():
            wanted = _content_words(question)
            if wanted and len(wanted & asked) * 3 >= len(wanted) * 2:
                return answer
        return None

    def _stock_answer(self, question: Question | None) -> str | None:
        s = self.session
        campaign = s.campaign
        booking = campaign.booking
        offered = s.offers.get(self.current_offer or "")
        if question is Question.WHO:
            return line("answer_who", agent_name=campaign.agent_name,
                        business_name=campaign.business_name)
        if question in (Question.WHY, Question.SALES, Question.WHAT_NEXT):
            return line("answer_why", purpose=campaign.purpose,
                        business_name=campaign.business_name)
        if question is Question.LENGTH:
            return line("answer_length", length_minutes=booking.meeting_length_minutes,
                        meeting_words=meeting_words(booking.meeting_type))
        if question is Question.ROBOT:
            return line("answer_robot", business_name=campaign.business_name)
        if question in (Question.TIME_AGAIN, Question.MY_TIME):
            booked = s.active_booking()
            if offered is not None:
                return line("answer_time", spoken=offered.spoken)
            if booked is not None:
                return line("answer_time", spoken=self.tools.spoken(booked.slot))
        return None

    # Steps --------------------------------------------------------------------------------

    async def _on_opener(self, text: str, turn: Turn, wants: str | None) -> Reply:
        if wants or _looks_like_email(text):
            return await self._on_meeting(text, turn, wants)
        if turn.intent is Intent.DENY:
            self.session.meeting_declined = True
            return self._goodbye(line("declined"))
        # Interest, small talk or a yes: what we offer, then the meeting.
        return self._pitch()

    async def _on_meeting(self, text: str, turn: Turn, wants: str | None) -> Reply:
        if wants:
            self.preference = wants
        if _looks_like_email(text):
            return await self._on_email(text, turn, None)
        if turn.intent is Intent.DENY and not wants:
            self.session.meeting_declined = True
            return self._goodbye(line("declined"))
        if turn.intent in (Intent.AFFIRM, Intent.AFFIRM_WITH_CHANGE) or wants:
            self.meeting_proposed = True
            return self._ask(Expecting.EMAIL, line("ask_email"))
        return Reply(line("not_understood", question=self.question))

    async def _on_email(self, text: str, turn: Turn, wants: str | None) -> Reply:
        if wants and not _looks_like_email(text) and not is_partial_email(text):
            self.preference = wants
            return self._ask(Expecting.EMAIL, line("ask_email"))
        result = await self.tools.run("capture_email", {"spoken": text})
        if result.ok:
            return self._ask(Expecting.EMAIL_CONFIRM, result.say)
        # Half an address counts too: three turns without a whole one is enough asking.
        self.email_attempts += 1
        if self.email_attempts >= MAX_EMAIL_ATTEMPTS:
            # Better a promised human follow-up than a fourth "could you say it again?".
            self.session.human_follow_up = True
            give_up = line("email_give_up", business_name=self.session.campaign.business_name)
            return self._ask(Expecting.ANYTHING_ELSE, line("anything_else"), before=give_up)
        return self._ask(Expecting.EMAIL, result.say)

    async def _on_email_confirm(self, text: str, turn: Turn, wants: str | None) -> Reply:
        if turn.consents and not turn.change and not _looks_like_email(text):
            confirmed = await self.tools.run("confirm_email", {})
            if confirmed.ok:
                return await self._advance(confirmed.say)
            return self._ask(Expecting.EMAIL_CONFIRM, confirmed.say)
        # A correction ("no, it's john with an h", "it's at outlook dot com") repairs the held
        # address; a whole new one replaces it.
        result = await self.tools.run("capture_email", {"spoken": turn.change or text})
        if not result.ok and turn.change:
            result = await self.tools.run("capture_email", {"spoken": text})
        if result.ok:
            return self._ask(Expecting.EMAIL_CONFIRM, result.say)
        if turn.intent is Intent.DENY:
            return await self._email_again()
        return Reply(line("not_understood", question=self.question))

    async def _email_again(self) -> Reply:
        self.email_attempts += 1
        if self.email_attempts >= MAX_EMAIL_ATTEMPTS:
            self.session.human_follow_up = True
            give_up = line("email_give_up", business_name=self.session.campaign.business_name)
            return self._ask(Expecting.ANYTHING_ELSE, line("anything_else"), before=give_up)
        self.session.email, self.session.email_confirmed = None, False
        return self._ask(Expecting.EMAIL, line("ask_email_again"))

    async def _advance(self, prefix: str) -> Reply:
        """After the e-mail: the zone if the number left it open, else the first offer."""
        s = self.session
        if s.caller_zone is None:
            ask = line("ask_zone", candidates=self.tools.candidate_names())
            return self._ask(Expecting.ZONE, ask, before=prefix)
        return await self._offer(prefix=prefix, preference=self.preference)

    async def _on_zone(self, text: str, turn: Turn, wants: str | None) -> Reply:
        result = await self.tools.run("set_caller_zone", {"answer": text})
        if wants:
            self.preference = wants
        if not result.ok:
            return self._ask(Expecting.ZONE, result.say)
        return await self._offer(prefix=result.say, preference=self.preference)

    async def _offer(
        self, *, prefix: str = "", preference: str | None = None,
        after: str | None = None, earlier_than: str | None = None,
        step: Expecting = Expecting.SLOT, explain: bool = False, several: bool = False,
    ) -> Reply:
        """Offer one slot (the first the tool finds for the request), said after ``prefix``.

        ``explain``: the caller asked for something rather than agreeing, so when part of it
        was not understood the agent says what it looked for.
        """
        args: dict[str, object] = {"limit": MAX_CHOICES if several else 1}
        if preference:
            args["preference"] = preference
        if after:
            args["after_slot_id"] = after
        if earlier_than:
            args["before_slot_id"] = earlier_than
        result: ToolResult = await self.tools.run("find_slots", args)
        if not result.ok:
            if self.session.caller_zone is None:
                return self._ask(Expecting.ZONE, result.say, before=prefix)
            return self._ask(Expecting.ANYTHING_ELSE, line("anything_else"),
                             before=f"{prefix} {result.say}")
        self.preference = None
        slots = result.data["slots"]
        assert isinstance(slots, list)
        self.current_offer = slots[0]["slot_id"]
        self.expecting, self.question = step, result.say
        applied, ignored = result.data.get("applied"), result.data.get("not_understood")
        if explain and applied and ignored:
            # Partly understood: say what was looked for, so the caller can correct it.
            prefix = f"{prefix} {line('applied_part', applied=' '.join(applied))}"
        return Reply(f"{prefix} {result.say}".strip())

    async def _on_slot(self, text: str, turn: Turn, wants: str | None) -> Reply:
        s = self.session
        step = self.expecting or Expecting.SLOT
        moving = step is Expecting.MOVE
        zone = zone_from_answer(text, s.zone_candidates, owner_zone=s.owner_zone)
        if zone is not None and zone != s.caller_zone and not wants and not turn.consents:
            # The caller corrects the zone stated in the offer: say the same slot their way.
            result = await self.tools.run("set_caller_zone", {"answer": text})
            offered = s.offers.get(self.current_offer or "")
            if offered is None:
                return await self._offer(prefix=result.say, step=step)
            respoken = OfferedSlot(offered.slot_id, offered.slot, self.tools.spoken(offered.slot))
            s.offers[offered.slot_id] = respoken
            s.last_offer_ids = [offered.slot_id]
            return self._ask(step, line("offer_slot", spoken=respoken.spoken), before=result.say)
        if moving and turn.keep:
            return self._keep()
        picked = self._picked(text) if turn.intent in (Intent.INFO, Intent.AFFIRM) else None
        if picked is not None:
            # "the first one", "that one": a pick among the times just said is a yes to it.
            self.current_offer = picked
            return await self._take(moving)
        if turn.consents and len(s.last_offer_ids) > 1 and not wants:
            # A yes to "I have 9, 9:30 or 10": which one?
            return Reply(line("which_one", question=self.question))
        if turn.consents and self.current_offer and (not wants or self._offer_fits(wants)):
            return await self._take(moving)
        if wants and not self._offer_fits(wants):
            # "What about Thursday?", "yes but later in the day": offer what they named.
            return await self._offer(preference=wants, step=step,
                                     explain=not turn.consents)
        if turn.later:
            return await self._offer(after=self.current_offer, step=step)
        if turn.earlier:
            return await self._offer(earlier_than=self.current_offer, step=step)
        if turn.intent is Intent.DENY:
            self.declines += 1
            if self.declines >= DECLINES_BEFORE_ASKING and not turn.change:
                self.declines = 0
                return self._ask(step, line("ask_what_suits"))
            return await self._offer(after=self.current_offer, step=step)
        if turn.consents and self.current_offer is None:
            return await self._offer(preference=wants, step=step)
        return Reply(line("not_understood", question=self.question))

    async def _take(self, moving: bool) -> Reply:
        """Book (or move to) the slot on offer: the caller heard it and said yes."""
        s = self.session
        name = "reschedule_booking" if moving else "book_slot"
        result = await self.tools.run(name, {"slot_id": self.current_offer})
        if result.ok:
            self.current_offer, self.declines = None, 0
            return self._ask(Expecting.ANYTHING_ELSE, line("anything_else"),
                             before=result.say.removesuffix(line("anything_else")).strip())
        slots = result.data.get("slots")
        if isinstance(slots, list) and slots:
            # First confirm wins: the slot was just taken; the result offers the next one.
            self.current_offer = slots[0]["slot_id"]
            self.question = result.say
            return Reply(result.say)
        if s.email and not s.email_confirmed:
            return self._ask(Expecting.EMAIL_CONFIRM, result.say)
        if not s.email:
            return self._ask(Expecting.EMAIL, result.say)
        if s.booking_failed:
            return self._ask(Expecting.ANYTHING_ELSE, line("anything_else"), before=result.say)
        self.question = result.say
        return Reply(result.say)

    def _offer_step(self, step: Expecting) -> Expecting:
        """The step an offer answers: a move while a meeting is booked, else a booking."""
        if step is Expecting.MOVE or self.session.active_booking() is not None:
            return Expecting.MOVE
        return Expecting.SLOT

    def _picked(self, text: str) -> str | None:
        """The slot id the caller picks among the times on offer ("the first one")."""
        request = self.tools.read_preference(text)
        ids = self.session.last_offer_ids
        if request is None or request.choice is None or request.choice >= len(ids):
            return None
        return ids[request.choice]

    def _keep(self) -> Reply:
        s = self.session
        booked = s.active_booking()
        self.current_offer = None
        s.last_offer_ids = []
        kept = line("kept", spoken=self.tools.spoken(booked.slot)) if booked else ""
        return self._ask(Expecting.ANYTHING_ELSE, line("anything_else"), before=kept)

    def _offer_fits(self, wanted: str) -> bool:
        """Whether the slot on offer is what the caller just named ("yes, Wednesday works")."""
        s = self.session
        offered = s.offers.get(self.current_offer or "")
        request = self.tools.read_preference(wanted)
        if offered is None or request is None:
            return False
        if request.choice is not None:
            return True
        if request.exact:
            return offered.slot.start == request.start
        return request.start <= offered.slot.start < request.end

    async def _on_anything_else(self, text: str, turn: Turn, wants: str | None) -> Reply:
        s = self.session
        can_book_now = s.booking_available and s.active_booking() is None
        if turn.intent is Intent.DENY or (
                turn.thanks and not wants and not (turn.consents and can_book_now)):
            return self._goodbye()
        if wants and s.booking_available:
            self.preference = wants
            if s.email_confirmed:
                return await self._offer(preference=wants)
            return self._ask(Expecting.EMAIL, line("ask_email"))
        if turn.consents and s.booking_available and s.active_booking() is None:
            if s.email_confirmed:
                return await self._offer()
            return self._ask(Expecting.EMAIL, line("ask_email"))
        if not s.booking_available:
            # Asking to book, or anything else: this call cannot book, someone will follow up.
            follow_up = line("no_booking_follow_up", business_name=s.campaign.business_name)
            return self._ask(Expecting.ANYTHING_ELSE, line("anything_else"), before=follow_up)
        return Reply(line("not_understood", question=self.question))
