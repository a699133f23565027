"""The one place adapters are wired from settings: calendars, booking, speech and the LLM.

Entry points (the CLI, the call server, the test-call harness) ask here for what a call
needs; the layers below take small typed configs and never read settings themselves.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from functools import partial

from agent.call_session import CalendarConnection
from agent.campaign import Campaign
from app.settings import Settings
from calendar_backend import member_calendars
from calendar_backend.google import connections as google
from calendar_backend.local_calendar import LocalCalendar
from calendar_backend.outlook import connections as outlook
from calendar_backend.provider import CalendarProvider
from calendar_backend.reconcile import (
    ProviderFor,
    Settled,
    keep_claims_settled,
    settle_stale_claims,
)
from calendar_backend.token_store import TokenKeyMissing
from storage.database import Database
from telephony.config import PhoneSetup


def connect_calendar(
    campaign: Campaign, database: Database, settings: Settings, *,
    organisation_id: str | None = None,
) -> CalendarConnection:
    """The calendar the campaign's ``booking.calendar`` reference names.

    ``"local"`` is the embedded calendar in the project database (``"local:<id>"`` another
    one in it, see :func:`for_organisation`). Any other reference is a connection
    (``outlook:<name>``, ``google:<name>``); for an organisation, only its members'
    (``member:<operator_id>``: that member's active connection). A connection that needs
    reconnecting, was disconnected, is unknown, or whose tokens cannot be read is unusable:
    the call goes on and booking is skipped (seed 002), with the reason.
    """
    reference = campaign.booking.calendar
    if organisation_id is not None and not _is_local(reference):
        if not member_calendars.is_member_ref(reference):
            # The CLI's server-wide connections are not an organisation's own.
            return CalendarConnection.unusable(
                f"{reference!r} is not a calendar connected for this organisation")
    return calendar_for(reference, database, settings,
                        zone=campaign.booking.availability.timezone,
                        organisation_id=organisation_id)


def _is_local(reference: str) -> bool:
    return reference == "local" or reference.startswith("local:")


def calendar_for(
    reference: str, database: Database, settings: Settings, *, zone: str | None = None,
    organisation_id: str | None = None,
) -> CalendarConnection:
    """The calendar ``reference`` names (``"local"``, ``"local:<id>"``, ``outlook:<name>``
    or ``google:<name>``), as :func:`connect_calendar` describes; ``zone`` is the local
    calendar's owner zone.

    For an organisation, ``member:<operator_id>`` is that member's active connection (the
    answer's ``reference`` names it: bookings are kept under it); a member of another
    organisation, or a member with no usable calendar, is unusable with the reason.
    """
    if member_calendars.is_member_ref(reference):
        if organisation_id is None:
            return CalendarConnection.unusable(
                f"{reference!r} is an organisation member's calendar: only that "
                "organisation's campaigns (API, console) book on it")
        concrete, reason = member_calendars.resolve(database, organisation_id, reference)
        if concrete is None:
            return CalendarConnection.unusable(reason or "no calendar connected")
        return replace(calendar_for(concrete, database, settings), reference=concrete)
    if _is_local(reference):
        return CalendarConnection(LocalCalendar(database, calendar_id=reference, zone=zone),
                                  True)
    try:
        provider = open_connection(database, settings, reference)
    except (outlook.ConnectionNotFound, google.ConnectionNotFound, TokenKeyMissing,
            ValueError) as exc:
        return CalendarConnection.unusable(str(exc))
    if provider is None:
        return CalendarConnection.unusable(
            f"calendar access has expired for {reference!r}: reconnect it"
        )
    return CalendarConnection(provider, True)


def open_connection(database: Database, settings: Settings,
                    reference: str) -> CalendarProvider | None:
    """The provider of a connected calendar, or ``None`` while its connection is not usable.

    ``google:<name>`` opens a Google connection, anything else an Outlook one (which refuses
    what is not ``outlook:<name>``).
    """
    if google.is_google_ref(reference):
        return google.open_calendar(database, settings.google(), reference)
    return outlook.open_calendar(database, settings.outlook(), reference)


def for_organisation(campaign: Campaign, organisation_id: str) -> Campaign:
    """``campaign`` as an organisation runs it: its embedded calendar is the organisation's
    own, so neither its events nor its bookings meet another organisation's."""
    if campaign.booking.calendar != "local":
        return campaign
    booking = campaign.booking.model_copy(update={"calendar": f"local:{organisation_id}"})
    return campaign.model_copy(update={"booking": booking})


def phone_setup(settings: Settings, database: Database) -> PhoneSetup:
    """What every phone call of this process is wired with."""
    return PhoneSetup(
        twilio=settings.twilio(),
        speech=settings.speech(),
        llm=settings.llm(),
        connect_calendar=partial(connect_calendar, database=database, settings=settings),
        silence_timeout_seconds=settings.silence_timeout_seconds,
    )


def _provider_for(database: Database, settings: Settings) -> ProviderFor:
    return lambda reference: calendar_for(reference, database, settings).provider


async def settle_claims(database: Database, settings: Settings) -> Settled:
    """Settle the bookings a dead process left pending (entry points that book run this on
    start-up): each is confirmed if its calendar has the event, else released."""
    return await settle_stale_claims(database, _provider_for(database, settings))


def claims_upkeep(
    database: Database, settings: Settings
) -> Callable[[asyncio.Event], Awaitable[None]]:
    """The call server's background task settling abandoned claims, from start-up on."""
    return partial(keep_claims_settled, database, _provider_for(database, settings))
