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
from agent.settings import Settings
from agent.timezones import caller_timezones
from calendar_backend.booking import BookingRecord, BookingService
from calendar_backend.interval import Interval
from calendar_backend.provider import CalendarProvider, CalendarUnavailable
from storage.database import Database

OUTCOMES = ("booked", "cancelled", "declined", "no_booking_offered", "hung_up", "failed")


@dataclass(frozen=True, slots=True)
class CalendarConnection:
    """A campaign's calendar as a call sees it: usable (with its provider) or not, and why."""

    provider: CalendarProvider | None
    usable: bool
    reason: str | None = None

    @classmethod
    def unusable(cls, reason: str) -> CalendarConnection:
        """A connection booking must skip, e.g. an expired Outlook token."""
        return cls(provider=None, usable=False, reason=reason)


def connect_calendar(
    campaign: Campaign, database: Database, settings: Settings
) -> CalendarConnection:
    """The calendar the campaign's ``booking.calendar`` reference names.

    ``"local"`` is the embedded calendar in the project database. Any other reference is an
    Outlook connection, opened by :func:`connect_outlook_calendar`.
    """
    reference = campaign.booking.calendar
    if reference == "local":
        from calendar_backend.local_calendar import LocalCalendar

        zone = campaign.booking.availability.timezone
        return CalendarConnection(LocalCalendar(database, calendar_id="local", zone=zone), True)
    return connect_outlook_calendar(reference, database, settings)


def connect_outlook_calendar(
    reference: str, database: Database, settings: Settings
) -> CalendarConnection:
    """Open the connected Outlook calendar ``reference`` (``outlook:<name>``) names.

    A connection that needs reconnecting, was disconnected, is unknown, or whose tokens cannot
    be read is unusable: the call goes on and booking is skipped (seed 002), with the reason.
    """
    from calendar_backend.outlook.connections import ConnectionNotFound, open_calendar
    from calendar_backend.outlook.token_store import TokenKeyMissing

    try:
        provider = open_calendar(database, settings, reference)
    except (ConnectionNotFound, TokenKeyMissing, ValueError) as exc:
        return CalendarConnection.unusable(str(exc))
    if provider is None:
        return CalendarConnection.unusable(
            f"calendar access has expired for {reference!r}: reconnect it"
        )
    return CalendarConnection(provider, True)


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
    booking: BookingService | None
    booking_unavailable_reason: str | None = None
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    invite_has_link: bool = True
    zone_candidates: list[str] = field(default_factory=list)
    caller_zone: str | None = None
    caller_zone_confirmed: bool = False
    email: str | None = None
    email_confirmed: bool = False
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
    _next_offer: int = 0

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
        """The bookings made on this call (records from the booking service)."""
        return self.booking.bookings_for_call(self.call_id) if self.booking else []

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
    settings: Settings,
    calendar: CalendarConnection | None = None,
) -> CallSession:
    """Start the state of one call: resolve the calendar, read availability once, guess the zone.

    ``now`` freezes the call's clock (scenarios); ``None`` uses the wall clock. ``calendar``
    replaces the campaign's own connection (the harness uses it for "connection expired").
    """
    clock: Callable[[], datetime] = (
        (lambda: now) if now is not None else (lambda: datetime.now(UTC))
    )
    booking_settings = campaign.booking
    owner_zone = booking_settings.availability.timezone
    service: BookingService | None = None
    reason: str | None = None
    invite_has_link = booking_settings.meeting_type == "video"
    if not booking_settings.enabled:
        reason = "booking is off for this campaign"
    else:
        connection = calendar or connect_calendar(campaign, database, settings)
        if not connection.usable or connection.provider is None:
            reason = connection.reason or "the calendar connection is not usable"
        else:
            try:
                calendar_zone = await connection.provider.time_zone()
                owner_zone = owner_zone or calendar_zone
                service = BookingService.on_database(
                    database,
                    connection.provider,
                    booking_settings,
                    calendar_id=booking_settings.calendar,
                    campaign_name=campaign.name,
                    calendar_zone=calendar_zone,
                )
                await service.load_availability(clock())
                if invite_has_link:
                    invite_has_link = await connection.provider.can_add_online_meeting()
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
