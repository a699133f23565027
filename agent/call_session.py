"""The state of one call: who is calling, what they confirmed, what was offered and booked.

A :class:`CallSession` is shared by the tools, the guided policy and the pipeline processors of
one call. It holds no dialogue logic; it records facts and answers "what do we know so far".
Booking is possible only when the campaign has booking on *and* its calendar connection is
usable (seed 002: "booking is simply skipped on calls until the connection is restored").
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from agent.campaign import Campaign
from calendar_backend.booking import BookingRecord, BookingService
from calendar_backend.interval import Interval
from calendar_backend.pool import AnyBookingService, PoolBookingService, PoolMemberCalendar
from calendar_backend.provider import CalendarProvider, CalendarUnavailable
from caller_language.timezones import caller_timezones
from storage.database import Database

OUTCOMES = ("booked", "cancelled", "declined", "no_booking_offered", "hung_up", "failed")


@dataclass(frozen=True, slots=True)
class CalendarConnection:
    """A campaign's calendar as a call sees it: usable (with its provider) or not, and why.

    A campaign booking on a pool has ``members`` instead of a provider: each member's
    calendar as opened (usable or not, and why).
    """

    provider: CalendarProvider | None
    usable: bool
    reason: str | None = None
    members: tuple[PoolMemberCalendar, ...] = ()
    # The calendar bookings are kept under when it is not the campaign's ``booking.calendar``
    # itself (a member's calendar, ``member:<id>``, books on their active connection's).
    reference: str | None = None

    @classmethod
    def unusable(cls, reason: str) -> CalendarConnection:
        """A connection booking must skip, e.g. an expired Outlook token."""
        return cls(provider=None, usable=False, reason=reason)


@dataclass(frozen=True, slots=True)
class OfferedSlot:
    """A slot the agent offered, under the id the tool gave out (the model never types times)."""

    slot_id: str
    slot: Interval
    spoken: str


@dataclass
class CallSession:
    """Everything known about one call so far."""

    campaign: Campaign
    call_id: str
    caller_number: str
    caller_name: str | None
    owner_zone: str
    booking: AnyBookingService | None
    booking_unavailable_reason: str | None = None
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    invite_has_link: bool = True
    zone_candidates: list[str] = field(default_factory=list)
    caller_zone: str | None = None
    caller_zone_confirmed: bool = False
    email: str | None = None
    email_confirmed: bool = False
    # Transcript length when the address was last taken: its read-back counts from there.
    email_taken_at: int = 0
    # Transcript indexes of caller lines already acted on as consent (one yes, one action).
    consents_used: set[int] = field(default_factory=set)
    # What the caller said of an address that was not a whole one yet ("it's john dot smith"):
    # the next turn may finish it ("at gmail dot com").
    email_fragments: list[str] = field(default_factory=list)
    offers: dict[str, OfferedSlot] = field(default_factory=dict)
    last_offer_ids: list[str] = field(default_factory=list)
    moved_booking_ids: set[str] = field(default_factory=set)
    meeting_offered: bool = False
    meeting_declined: bool = False
    booking_failed: bool = False
    caller_hung_up: bool = False
    ended: bool = False
    transcript: list[dict[str, Any]] = field(default_factory=list)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    turn_timings: list[dict[str, Any]] = field(default_factory=list)
    # Words a tool result carried that nobody has said yet (the LLM failed right after a
    # tool ran): the fallback says them first so a booking is never made silently.
    unspoken: str | None = None
    # LLM sentences replaced because they named a time no tool gave (for the call record).
    guarded: list[str] = field(default_factory=list)
    # Follow-ups the call promised or was asked for (for the call record and the operator).
    call_back_requested: bool = False
    call_back_when: str | None = None
    do_not_call: bool = False
    human_follow_up: bool = False
    _next_offer: int = 0
    _bookings: list[BookingRecord] | None = None

    @property
    def booking_available(self) -> bool:
        """Whether this call may offer booking at all."""
        return self.booking is not None

    @property
    def caller_first_name(self) -> str | None:
        """The caller's first name, for greetings and invites."""
        return self.caller_name.split()[0] if self.caller_name else None

    def now(self) -> datetime:
        """The call's clock (frozen in scenarios, the wall clock on live calls)."""
        return self.clock()

    def say(self, role: str, text: str) -> None:
        """Record a line of the conversation."""
        self.transcript.append({"role": role, "text": text, "at": self.now().isoformat()})

    def offer(self, slot: Interval, spoken: str) -> OfferedSlot:
        """Register an offered slot under a fresh id (or its existing id)."""
        for existing in self.offers.values():
            if existing.slot == slot:
                return existing
        self._next_offer += 1
        offered = OfferedSlot(f"slot-{self._next_offer}", slot, spoken)
        self.offers[offered.slot_id] = offered
        self.meeting_offered = True
        return offered

    def bookings(self) -> list[BookingRecord]:
        """The bookings made on this call (records from the booking service).

        Read once and kept until a tool may have changed them (:meth:`bookings_changed`):
        only this call's own tools book, move or cancel this call's meetings.
        """
        if self._bookings is None:
            self._bookings = (
                self.booking.bookings_for_call(self.call_id) if self.booking else []
            )
        return self._bookings

    def bookings_changed(self) -> None:
        """A tool ran that may have booked, moved or cancelled: read the bookings again."""
        self._bookings = None

    def active_booking(self) -> BookingRecord | None:
        """The meeting booked on this call that is still on (confirmed or moved), if any."""
        active = [b for b in self.bookings() if b.status == "confirmed"]
        return active[-1] if active else None

    @property
    def outcome(self) -> str:
        """How the call went, for the call record (one of :data:`OUTCOMES`)."""
        statuses = {b.status for b in self.bookings()}
        if "confirmed" in statuses:
            return "booked"
        if "cancelled" in statuses:
            return "cancelled"
        if self.booking_failed:
            return "failed"
        if self.caller_hung_up and not self.ended:
            return "hung_up"
        if self.meeting_offered or self.meeting_declined:
            return "declined"
        return "no_booking_offered"

    def timed(self, kind: str, started: float, **extra: Any) -> None:
        """Record how long one dialogue step or tool call took (seconds, monotonic)."""
        self.turn_timings.append(
            {"kind": kind, "seconds": round(time.monotonic() - started, 4), **extra}
        )


async def open_call(
    campaign: Campaign,
    *,
    caller_number: str,
    caller_name: str | None,
    call_id: str,
    now: datetime | None,
    database: Database,
    calendar: CalendarConnection,
) -> CallSession:
    """Start the state of one call: read availability once from ``calendar``, guess the zone.

    ``now`` freezes the call's clock (scenarios); ``None`` uses the wall clock. ``calendar`` is
    the campaign's calendar as the application shell connected it (usable or not, and why).
    """
    clock: Callable[[], datetime] = (
        (lambda: now) if now is not None else (lambda: datetime.now(UTC))
    )
    booking_settings = campaign.booking
    owner_zone = booking_settings.availability.timezone
    service: AnyBookingService | None = None
    reason: str | None = None
    invite_has_link = booking_settings.meeting_type == "video"
    if not booking_settings.enabled:
        reason = "booking is off for this campaign"
    elif calendar.members:
        try:
            pool = PoolBookingService.on_database(
                database, calendar.members, booking_settings, campaign_name=campaign.name)
            await pool.load_availability(clock())
            if invite_has_link:
                invite_has_link = await pool.can_add_online_meeting()
            service = pool
        except (CalendarUnavailable, ValueError) as exc:
            reason = getattr(exc, "reason", None) or str(exc)
    else:
        if not calendar.usable or calendar.provider is None:
            reason = calendar.reason or "the calendar connection is not usable"
        else:
            try:
                calendar_zone = await calendar.provider.time_zone()
                owner_zone = owner_zone or calendar_zone
                service = BookingService.on_database(
                    database,
                    calendar.provider,
                    booking_settings,
                    calendar_id=calendar.reference or booking_settings.calendar,
                    campaign_name=campaign.name,
                    calendar_zone=calendar_zone,
                )
                await service.load_availability(clock())
                if invite_has_link:
                    invite_has_link = await calendar.provider.can_add_online_meeting()
            except (CalendarUnavailable, ValueError) as exc:
                service = None
                reason = getattr(exc, "reason", None) or str(exc)
    candidates = caller_timezones(caller_number) if caller_number else []
    session = CallSession(
        campaign=campaign,
        call_id=call_id,
        caller_number=caller_number,
        caller_name=caller_name,
        owner_zone=owner_zone or "UTC",
        booking=service,
        booking_unavailable_reason=reason,
        clock=clock,
        invite_has_link=invite_has_link,
        zone_candidates=candidates,
        # One candidate is assumed (and stated in every offer, so the caller can correct it);
        # several or none are asked.
        caller_zone=candidates[0] if len(candidates) == 1 else None,
    )
    return session
