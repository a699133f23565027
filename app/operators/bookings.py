"""Cancelling an organisation's booking from the API or the console: on its calendar (the
attendee is told), then the ``booking.cancelled`` webhook."""

from __future__ import annotations

import asyncio

from app.bootstrap import calendar_for
from app.operators import webhooks
from app.operators.accounts import Organisation
from app.operators.calls import BookingView, get_booking
from app.operators.campaigns import campaign_named
from app.settings import Settings
from calendar_backend import member_calendars
from calendar_backend.booking import BookingService, Cancelled, NotAllowed
from calendar_backend.booking_settings import BookingSettings
from calendar_backend.local_calendar import LocalCalendar
from calendar_backend.provider import CalendarProvider
from calendar_backend.sql_store import SqlBookingStore
from prompts import line
from storage.database import Database


class CancelRefused(Exception):
    """The booking cannot be cancelled, with the reason in words."""


def _provider(database: Database, organisation: Organisation, calendar_id: str,
              settings: Settings | None) -> CalendarProvider:
    """The calendar the booking is on: the organisation's own, or one of its members'
    connections (``outlook:<name>`` / ``google:<name>`` owned by a member)."""
    if calendar_id.startswith("local:"):
        return LocalCalendar(database, calendar_id=calendar_id)
    if settings is None or member_calendars.organisation_of(database, calendar_id) \
            != organisation.id:
        raise CancelRefused(
            "only bookings on the organisation's own calendars can be cancelled here")
    found = calendar_for(calendar_id, database, settings)
    if found.provider is None:
        raise CancelRefused(f"the calendar cannot be reached now: {found.reason}")
    return found.provider


async def cancel_booking(
    database: Database, organisation: Organisation, booking_id: str,
    settings: Settings | None = None,
) -> BookingView | None:
    """Cancel one of the organisation's confirmed bookings; ``None`` if it has no such
    booking. Cancelling a cancelled booking again changes nothing and tells nobody twice.
    ``settings`` reach the providers of bookings on members' calendars."""
    booking = await asyncio.to_thread(get_booking, database, organisation, booking_id)
    if booking is None:
        return None
    provider = await asyncio.to_thread(_provider, database, organisation, booking.calendar_id,
                                       settings)
    stored = await asyncio.to_thread(campaign_named, database, organisation, booking.campaign)
    campaign = stored.campaign if stored is not None else None
    service = BookingService(
        SqlBookingStore(database, booking.calendar_id), provider,
        campaign.booking if campaign is not None else BookingSettings(),
        campaign_name=booking.campaign)
    result = await service.cancel(booking.id, call_id=booking.call_id, message=line(
        "operator_cancel_note",
        business_name=campaign.business_name if campaign is not None else organisation.name))
    if isinstance(result, NotAllowed):
        raise CancelRefused(result.reason)
    if not isinstance(result, Cancelled):
        raise CancelRefused(f"the calendar did not cancel it: {result.reason}")
    cancelled = await asyncio.to_thread(get_booking, database, organisation, booking_id)
    assert cancelled is not None
    if booking.status != "cancelled":
        await asyncio.to_thread(webhooks.emit, database, organisation.id, "booking.cancelled",
                                webhooks.booking_payload(cancelled))
    return cancelled
