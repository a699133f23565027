"""The dialogue's tools: thin wrappers over the deterministic code, each returning words to say.

:class:`CallTools` is what both the LLM (through OpenAI function schemas, :func:`function_schemas`)
and the guided policy call. A tool never raises on a failed precondition: it returns
``ok=False`` with the words to say and a ``next`` hint telling the model what to do instead.
Slots are referred to by the ids :meth:`CallTools.find_slots` gave out, never by a time the
model typed, so the model cannot invent a time; bookings are found from this call's own
records, so no tool can touch an event it did not book on this call.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.frames.frames import FunctionCallResultProperties
from pipecat.services.llm_service import FunctionCallParams

from agent.call_session import CallSession, OfferedSlot
from agent.consent import cancel_consent, email_consent, slot_consent, use_consent
from calendar_backend.booking import (
    Booked,
    BookingFailed,
    BookingResult,
    Cancelled,
    NotAllowed,
    SlotTaken,
)
from calendar_backend.booking_settings import Recipient
from calendar_backend.interval import Interval
from calendar_backend.provider import Attendee
from caller_language.email import (
    EmailNotUnderstood,
    RepairKind,
    is_partial_email,
    join_spoken_email,
    nato_readback,
    readback_part,
    repair_email,
)
from caller_language.time_phrases import OfferContext, TimeRequest, parse_time_request, say_slot
from caller_language.timezones import zone_from_answer, zone_name
from prompts import line

log = logging.getLogger(__name__)

MAX_OFFERS = 3


# What a tool result carries besides ok/say/next: words, ids, and lists of them.
ToolValue = str | list[str] | list[dict[str, str]]


@dataclass
class ToolResult:
    """What a tool did: ``say`` is always set; ``next`` tells the model what to do on refusal."""

    ok: bool
    say: str
    next: str | None = None
    data: dict[str, ToolValue] = field(default_factory=dict)

    def as_dict(self) -> dict[str, ToolValue | bool]:
        """The JSON the model sees as the tool's result."""
        out: dict[str, ToolValue | bool] = {"ok": self.ok, "say": self.say, **self.data}
        if self.next:
            out["next"] = self.next
        return out


def meeting_words(meeting_type: str) -> str:
    """How a meeting type is said: "video call", "phone call", "in-person meeting"."""
    return {"video": "video call", "phone": "phone call"}.get(meeting_type, "in-person meeting")


def join_spoken(items: list[str]) -> str:
    """``a``, ``a or b``, ``a, b, or c``: how a list of offers is said."""
    if len(items) <= 2:
        return " or ".join(items)
    return ", ".join(items[:-1]) + ", or " + items[-1]


def _in_daily_window(request: TimeRequest | None, slot: Interval) -> bool:
    # "Mornings next week": the span covers whole days, each day's window is in ``daily``.
    if request is None or request.daily is None:
        return True
    low, high = request.daily
    local = slot.start.astimezone(request.start.tzinfo).time()
    return local >= low and (high is None or local < high)


class CallTools:
    """The tools of one call, over its :class:`CallSession`."""

    def __init__(self, session: CallSession) -> None:
        self.session = session

    # E-mail -----------------------------------------------------------------------------

    async def capture_email(self, spoken: str) -> ToolResult:
        """Turn what the caller said into an address and the NATO read-back to confirm it.

        A correction to an address read back but not yet confirmed ("no, it's john with an
        h", "it's at outlook dot com") repairs it and re-reads what changed; an address said
        across turns is joined with what was said before. What the parser could not make out
        stays in the log: the caller only hears a polite request to say it again.
        """
        s = self.session
        repair = repair_email(s.email, spoken) if s.email and not s.email_confirmed else None
        if repair is not None and repair.kind is not RepairKind.WHOLE:
            s.email, s.email_fragments = repair.address, []
            s.email_taken_at = len(s.transcript)
            return ToolResult(
                True,
                line("email_repaired", changed=readback_part(repair.changed),
                     readback=nato_readback(repair.address)),
                next="wait for the caller to confirm; then call confirm_email",
                data={"email": repair.address},
            )
        try:
            address = join_spoken_email([*s.email_fragments, spoken])
        except EmailNotUnderstood as exc:
            log.info("e-mail not understood (%s): %r", exc.reason.name, spoken)
            s.email_fragments = [*s.email_fragments, spoken][-3:]
            return ToolResult(
                False,
                line("email_not_understood", partial=is_partial_email(spoken)),
                next="ask the caller to say the address again, then call capture_email",
            )
        if address != s.email:
            s.email_taken_at = len(s.transcript)
        s.email, s.email_confirmed, s.email_fragments = address, False, []
        return ToolResult(
            True,
            line("email_readback", readback=nato_readback(address)),
            next="wait for the caller to confirm; then call confirm_email",
            data={"email": address},
        )

    async def confirm_email(self) -> ToolResult:
        """The caller said the read-back is right: the address may now go on an invite."""
        s = self.session
        if not s.email:
            return ToolResult(
                False, line("ask_email"), next="ask for the e-mail, call capture_email"
            )
        if refusal := email_consent(s):
            return ToolResult(
                False, line("email_readback", readback=nato_readback(s.email)),
                next=refusal.next,
            )
        use_consent(s)
        s.email_confirmed = True
        return ToolResult(True, line("email_confirmed"), data={"email": s.email})

    # Time zone --------------------------------------------------------------------------

    async def set_caller_zone(self, answer: str) -> ToolResult:
        """Set the caller's zone from their answer ("Central", "I'm in Denver")."""
        s = self.session
        zone = zone_from_answer(answer, s.zone_candidates, owner_zone=s.owner_zone)
        if zone is None:
            return ToolResult(
                False,
                line("zone_not_understood", candidates=self.candidate_names()),
                next="ask again which time zone the caller is in, then call set_caller_zone",
            )
        changed = zone != s.caller_zone
        s.caller_zone, s.caller_zone_confirmed = zone, True
        if changed:
            # Offers were said in the old zone; re-say them before anyone books one.
            s.last_offer_ids = []
        return ToolResult(True, line("zone_set", zone_name=zone_name(zone)), data={"zone": zone})

    def candidate_names(self) -> str:
        """The candidate zones as said ("Central or Mountain"), empty when none."""
        names: list[str] = []
        for zone in self.session.zone_candidates:
            if zone_name(zone) not in names:
                names.append(zone_name(zone))
        return join_spoken(names)

    # Slots ------------------------------------------------------------------------------

    def spoken(self, slot: Interval) -> str:
        """A slot as said to this caller: the owner's zone and, when it differs, theirs."""
        s = self.session
        return say_slot(slot.start, s.owner_zone, s.caller_zone or s.owner_zone, s.now())

    def _booking_refusal(self) -> ToolResult | None:
        s = self.session
        if not s.booking_available:
            return ToolResult(
                False,
                line("no_booking_follow_up", business_name=s.campaign.business_name),
                next="booking is not available on this call; do not offer times",
            )
        if s.caller_zone is None:
            return ToolResult(
                False,
                line("ask_zone", candidates=self.candidate_names()),
                next="ask the caller's time zone and call set_caller_zone before find_slots",
            )
        return None

    def offer_context(self) -> OfferContext:
        """Where the conversation is: the times on offer, and the one being talked about."""
        s = self.session
        on_offer = tuple(s.offers[i].slot.start for i in s.last_offer_ids if i in s.offers)
        booked = s.active_booking()
        current = on_offer[0] if len(on_offer) == 1 else (booked.slot.start if booked else None)
        return OfferContext(on_offer=on_offer, current=current, owner_zone=s.owner_zone)

    def read_preference(self, preference: str) -> TimeRequest | None:
        """A time the caller asked for, in their zone and in the conversation's context."""
        s = self.session
        zone = s.caller_zone or s.owner_zone
        return parse_time_request(preference, s.now(), zone, self.offer_context())

    def _reasonable(self, slot: Interval) -> bool:
        # The caller's own clock: no 6 AM offer because the owner happens to be free then.
        hours = self.session.campaign.caller_hours
        zone = ZoneInfo(self.session.caller_zone or self.session.owner_zone)
        start, end = slot.start.astimezone(zone), slot.end.astimezone(zone)
        last = end - timedelta(microseconds=1)
        return hours.start <= start.hour and last.hour < hours.end and start.date() == last.date()

    async def find_slots(
        self, preference: str | None = None, after_slot_id: str | None = None,
        before_slot_id: str | None = None, limit: int = MAX_OFFERS,
    ) -> ToolResult:
        """Up to ``limit`` free slots: matching ``preference`` if given, after (or before) an
        offered slot if given, inside the caller's reasonable local hours.

        Without a preference, slots already offered on this call are skipped, so asking again
        gives the next ones; a time the caller names is found even if it was offered before.
        "The first one" re-offers that slot; "the latest you have" offers the latest first;
        "around five" the closest. The result's data says which words of the preference were
        applied and which were not understood, so the agent can say what it looked for.
        """
        refusal = self._booking_refusal()
        if refusal:
            return refusal
        s = self.session
        assert s.booking is not None
        now = s.now()
        after = s.offers[after_slot_id].slot.start if after_slot_id in s.offers else None
        before = s.offers[before_slot_id].slot.start if before_slot_id in s.offers else None
        request = self.read_preference(preference) if preference else None
        if request is not None and request.choice is not None:
            chosen = s.offers[s.last_offer_ids[request.choice]]
            s.last_offer_ids = [chosen.slot_id]
            return self._offered([chosen], None, request)
        booked = s.active_booking()
        # Offering a move: the meeting's own time (and its buffers) does not block others.
        free = await s.booking.free_slots(
            now, excluding_booking=booked.id if booked else None
        )
        offered = {o.slot for o in s.offers.values()}
        booked_slot = booked.slot if booked else None
        candidates = [
            slot for slot in free
            if (request is not None or slot not in offered) and slot != booked_slot
            and (after is None or slot.start > after)
            and (before is None or slot.start < before)
            and (self._reasonable(slot) or (request is not None and request.exact
                                            and slot.start == request.start))
        ]
        within = Interval(request.start, request.end) if request is not None else None
        matching = [
            slot for slot in candidates
            if within is None or (within.overlaps(slot) and _in_daily_window(request, slot))
        ]
        if before is not None or (request is not None and request.latest):
            # "Anything earlier?", "the latest you have": from the far end of the range.
            matching.reverse()
        if request is not None and request.around is not None:
            target = request.around
            matching.sort(key=lambda slot: abs(slot.start - target))
        if request is not None and request.exact:
            matching = [slot for slot in matching if slot.start == request.start] or matching
        note: str | None = None
        if not matching and preference and request is not None and not request.day_named and (
                not request.exact):
            # "Something in my morning": today's is gone or full, so the next morning free.
            matching = self._same_window_later(preference, candidates)
        if not matching and request is not None:
            # Nothing in the asked span: the latest that day before it, else the nearest after.
            zone = ZoneInfo(s.caller_zone or s.owner_zone)
            day = request.start.astimezone(zone).date()
            earlier_that_day = [slot for slot in candidates if slot.start < request.start
                                and slot.start.astimezone(zone).date() == day]
            later = [slot for slot in candidates if slot.start >= request.start]
            if earlier_that_day and not request.earliest:
                matching, note = [earlier_that_day[-1]], "latest_that_day"
            else:
                matching, note = later or candidates, request.text
        if not matching and after is not None:
            matching = [slot for slot in free if slot not in offered and self._reasonable(slot)]
            note = "later"
        if not matching and before is not None:
            # Nothing earlier is free: the earliest one is the one already on offer.
            matching = [s.offers[before_slot_id].slot]
            note = "earliest"
        if not matching:
            return ToolResult(
                False,
                line("no_slots_at_all", business_name=s.campaign.business_name),
                next="there are no free times the caller can make; tell the caller someone "
                "will follow up",
            )
        offers = [s.offer(slot, self.spoken(slot)) for slot in matching[:limit]]
        s.last_offer_ids = [o.slot_id for o in offers]
        return self._offered(offers, note, request)

    def _same_window_later(self, preference: str, candidates: list[Interval]
                           ) -> list[Interval]:
        """The slots of the first later day on which the same words find free slots.

        The words are read again as if said at the start of that day, so "in my morning"
        means that day's whole morning, not what was left of today's.
        """
        s = self.session
        zone = ZoneInfo(s.caller_zone or s.owner_zone)
        midnight = datetime.combine(s.now().astimezone(zone).date(), datetime.min.time(), zone)
        for days in range(1, s.campaign.booking.look_ahead_days + 1):
            day_start = midnight + timedelta(days=days)
            request = parse_time_request(preference, day_start, str(zone))
            if request is None:
                return []
            window = Interval(request.start, request.end)
            found = [slot for slot in candidates
                     if window.overlaps(slot) and _in_daily_window(request, slot)]
            if found:
                return found
        return []

    def _offered(self, offers: list[OfferedSlot], note: str | None,
                 request: TimeRequest | None) -> ToolResult:
        words = self._offer_words(offers, note)
        applied = list(request.applied) if request is not None else []
        ignored = list(request.ignored) if request is not None else []
        return ToolResult(
            True, words,
            next="offer these; book only the one the caller accepts, by its slot_id, after "
            "the caller heard it and said yes",
            data={"slots": [{"slot_id": o.slot_id, "time": o.spoken} for o in offers],
                  "applied": applied, "not_understood": ignored},
        )

    def _offer_words(self, offers: list[OfferedSlot], note: str | None) -> str:
        first = offers[0].spoken
        if note == "later":
            return line("nothing_later", spoken=first)
        if note == "earliest":
            return line("nothing_earlier", spoken=first)
        if note == "latest_that_day":
            return line("latest_that_day", spoken=first)
        if note:
            return line("nothing_matching", preference=note, spoken=first)
        if len(offers) == 1:
            return line("offer_slot", spoken=first)
        return line("offer_slots", spoken_list=join_spoken([o.spoken for o in offers]))

    # Booking ----------------------------------------------------------------------------

    def _slot_refusal(self, slot_id: str, *, moving: bool = False) -> ToolResult | None:
        """A slot that was never offered, or that the caller has not heard and agreed to."""
        s = self.session
        if slot_id not in s.offers:
            return ToolResult(
                False,
                line("checking_slots"),
                next=f"{slot_id!r} is not a slot id from find_slots; call find_slots and use "
                "one of the ids it returns",
            )
        if refusal := slot_consent(s, slot_id, moving=moving):
            return ToolResult(
                False, line("offer_slot", spoken=s.offers[slot_id].spoken), next=refusal.next
            )
        use_consent(s)
        return None

    def _invite_words(self, online_meeting_url: str | None) -> str:
        s = self.session
        if s.campaign.booking.meeting_type != "video":
            return ""
        return line("invite_link") if online_meeting_url else line("invite_details")

    async def book_slot(self, slot_id: str) -> ToolResult:
        """Book an offered slot for the caller (needs a confirmed e-mail). First confirm wins."""
        refusal = self._booking_refusal()
        if refusal:
            return refusal
        s = self.session
        assert s.booking is not None
        if not (s.email and s.email_confirmed):
            return ToolResult(
                False,
                line("ask_email") if not s.email else line(
                    "email_readback", readback=nato_readback(s.email)),
                next="the e-mail is not confirmed: get it with capture_email and confirm_email "
                "before booking",
            )
        if s.active_booking() is not None:
            return ToolResult(
                False,
                line("already_booked"),
                next="to change its time call reschedule_booking with the new slot_id",
            )
        if refusal := self._slot_refusal(slot_id):
            return refusal
        offered = s.offers[slot_id]
        recipient = Recipient(
            first_name=s.caller_first_name,
            last_name=(s.caller_name.split(maxsplit=1)[1:] or [None])[0] if s.caller_name else None,
            phone=s.caller_number or None,
            email=s.email,
        )
        result = await s.booking.book(
            start=offered.slot.start,
            attendee=Attendee(email=s.email, name=s.caller_name),
            recipient=recipient,
            call_id=s.call_id,
            now=s.now(),
        )
        return await self._booking_result(result, offered)

    async def reschedule_booking(self, slot_id: str) -> ToolResult:
        """Move the meeting booked on this call to another offered slot."""
        refusal = self._booking_refusal()
        if refusal:
            return refusal
        s = self.session
        assert s.booking is not None
        current = s.active_booking()
        if current is None:
            return ToolResult(
                False,
                line("nothing_booked"),
                next="only a meeting booked on this call can be moved; use book_slot",
            )
        if refusal := self._slot_refusal(slot_id, moving=True):
            return refusal
        offered = s.offers[slot_id]
        result = await s.booking.move(
            current.id, start=offered.slot.start, call_id=s.call_id, now=s.now()
        )
        return await self._booking_result(result, offered, moved=True)

    async def _booking_result(
        self, result: BookingResult, offered: OfferedSlot, moved: bool = False
    ) -> ToolResult:
        s = self.session
        if isinstance(result, Booked):
            spoken = self.spoken(result.slot)
            # A pool's member is named only if the campaign says so.
            member = result.member if s.campaign.booking.say_member_name else None
            words = line(
                "moved" if moved else "booked",
                spoken=spoken,
                invite_words=self._invite_words(result.online_meeting_url),
                member_name=member,
            )
            s.last_offer_ids = []
            if result.moved_from is not None:
                s.moved_booking_ids.add(result.booking_id)
            return ToolResult(
                True, f"{words} {line('anything_else')}",
                data={"booking_id": result.booking_id, "time": spoken},
            )
        if isinstance(result, SlotTaken):
            # The next free times, inside the caller's day like every offer.
            fitting = [slot for slot in result.alternatives if self._reasonable(slot)]
            if not fitting and s.booking is not None:
                booked = s.active_booking()
                free = await s.booking.free_slots(
                    s.now(), excluding_booking=booked.id if booked else None)
                fitting = [slot for slot in free
                           if self._reasonable(slot) and not slot.overlaps(result.slot)]
            alternatives = [s.offer(slot, self.spoken(slot)) for slot in fitting[:MAX_OFFERS]]
            s.offers.pop(offered.slot_id, None)
            # Only the first alternative is said; the others are there for the model to say.
            s.last_offer_ids = [o.slot_id for o in alternatives[:1]]
            if not alternatives:
                return ToolResult(
                    False,
                    line("no_slots_at_all", business_name=s.campaign.business_name),
                    next="the slot was taken and nothing else is free",
                )
            return ToolResult(
                False,
                line("slot_taken", spoken=alternatives[0].spoken),
                next="the slot was just taken; offer these alternatives and book the one the "
                "caller accepts by its slot_id",
                data={"slots": [{"slot_id": o.slot_id, "time": o.spoken} for o in alternatives]},
            )
        if isinstance(result, BookingFailed):
            s.booking_failed = True
            return ToolResult(
                False, line("booking_failed"),
                next="the calendar failed; do not retry, tell the caller someone will follow up",
            )
        return ToolResult(False, line("cannot_do_that"), next=f"refused: {result.reason}")

    async def cancel_booking(self) -> ToolResult:
        """Cancel the meeting booked on this call (only when the caller asks to)."""
        s = self.session
        current = s.active_booking() if s.booking else None
        if s.booking is None or current is None:
            return ToolResult(
                False, line("nothing_to_cancel"),
                next="only a meeting booked on this call can be cancelled",
            )
        if refusal := cancel_consent(s):
            return ToolResult(False, line("anything_else"), next=refusal.next)
        use_consent(s)
        result = await s.booking.cancel(
            current.id, call_id=s.call_id,
            message=line("cancel_note", first_name=s.caller_first_name),
        )
        if isinstance(result, Cancelled):
            return ToolResult(True, f"{line('cancelled')} {line('anything_else')}")
        if isinstance(result, BookingFailed):
            return ToolResult(False, line("booking_failed"), next="tell the caller it failed")
        reason = result.reason if isinstance(result, NotAllowed) else "refused"
        return ToolResult(False, line("cannot_cancel"), next=f"refused: {reason}")

    async def end_call(self) -> ToolResult:
        """Say goodbye and hang up."""
        s = self.session
        s.ended = True
        return ToolResult(True, line("goodbye", first_name=s.caller_first_name))

    # Recording --------------------------------------------------------------------------

    async def run(self, name: str, arguments: dict[str, Any]) -> ToolResult:
        """Run the tool ``name`` with ``arguments`` and record the call on the session."""
        started = time.monotonic()
        handler = _HANDLERS.get(name)
        if handler is None:
            result = ToolResult(False, line("one_moment"), next=f"there is no tool {name!r}")
        else:
            try:
                result = await handler(self, **arguments)
            except TypeError as exc:
                result = ToolResult(False, line("one_moment"), next=f"bad arguments: {exc}")
            finally:
                if name in _CHANGE_BOOKINGS:
                    self.session.bookings_changed()
        self.session.tool_calls.append(
            {"name": name, "arguments": dict(arguments), "result": result.as_dict(),
             "at": self.session.now().isoformat(),
             # How much of the conversation had been said and heard when it ran.
             "transcript_lines": len(self.session.transcript)}
        )
        self.session.timed("tool", started, name=name)
        return result


_HANDLERS: dict[str, Callable[..., Awaitable[ToolResult]]] = {
    "capture_email": CallTools.capture_email,
    "confirm_email": CallTools.confirm_email,
    "set_caller_zone": CallTools.set_caller_zone,
    "find_slots": CallTools.find_slots,
    "book_slot": CallTools.book_slot,
    "reschedule_booking": CallTools.reschedule_booking,
    "cancel_booking": CallTools.cancel_booking,
    "end_call": CallTools.end_call,
}

# The tools that may book, move or cancel: after one, the call's bookings are read again.
_CHANGE_BOOKINGS = frozenset({"book_slot", "reschedule_booking", "cancel_booking"})

_STR = {"type": "string"}
_DESCRIPTIONS: dict[str, tuple[str, dict[str, Any], list[str]]] = {
    "capture_email": (
        "Record the e-mail address the caller just said, exactly as spoken (e.g. 'john dot "
        "smith at example dot com'). Returns the letter-by-letter read-back to say.",
        {"spoken": {**_STR, "description": "the caller's words for the address"}}, ["spoken"]),
    "confirm_email": (
        "The caller said the read-back of their e-mail is right.", {}, []),
    "set_caller_zone": (
        "Set the caller's time zone from their answer (e.g. 'Central', 'I'm in Denver').",
        {"answer": {**_STR, "description": "the caller's words"}}, ["answer"]),
    "find_slots": (
        "Find up to 3 free meeting times. Returns slot ids and the exact words for each time.",
        {"preference": {**_STR, "description": "the caller's preference in their words, e.g. "
                        "'Wednesday afternoon'; omit for the earliest"},
         "after_slot_id": {**_STR, "description": "for 'something later': a slot id offered "
                           "before; returns times after it"},
         "before_slot_id": {**_STR, "description": "for 'anything earlier?': a slot id offered "
                            "before; returns times before it"}}, []),
    "book_slot": (
        "Book the offered slot the caller accepted. Needs a confirmed e-mail.",
        {"slot_id": {**_STR, "description": "an id returned by find_slots"}}, ["slot_id"]),
    "reschedule_booking": (
        "Move the meeting booked on this call to another offered slot.",
        {"slot_id": {**_STR, "description": "an id returned by find_slots"}}, ["slot_id"]),
    "cancel_booking": (
        "Cancel the meeting booked on this call. Only when the caller asks to cancel.", {}, []),
    "end_call": ("Say goodbye and hang up, when the caller is done.", {}, []),
}


def function_schemas(tools: CallTools) -> list[FunctionSchema]:
    """The OpenAI tool schemas of this call, each with its pipecat handler.

    Booking tools are listed only when the call can book, so the model is never tempted.
    """
    names = list(_DESCRIPTIONS)
    if not tools.session.booking_available:
        names = ["end_call"]

    def handler_for(name: str) -> Callable[[FunctionCallParams], Awaitable[None]]:
        async def run_and_note(arguments: dict[str, Any]) -> ToolResult:
            result = await tools.run(name, arguments)
            tools.session.unspoken = result.say
            return result

        async def handler(params: FunctionCallParams) -> None:
            # A barge-in cancels a running tool call; shielded, a booking write still runs to
            # its end (and its words are kept for the next answer) instead of stopping halfway.
            result = await asyncio.shield(run_and_note(dict(params.arguments or {})))
            if name == "end_call":
                tools.session.unspoken = None
                # No second inference: AgentVoice says the goodbye word for word when this
                # result passes, then ends the call behind it.
                await params.result_callback(
                    result.as_dict(), properties=FunctionCallResultProperties(run_llm=False)
                )
                return
            await params.result_callback(result.as_dict())

        return handler

    return [
        FunctionSchema(
            name=name, description=_DESCRIPTIONS[name][0], properties=_DESCRIPTIONS[name][1],
            required=_DESCRIPTIONS[name][2], handler=handler_for(name),
        )
        for name in names
    ]

