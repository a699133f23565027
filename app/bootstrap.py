"""The one place adapters are wired from settings: calendars, booking, speech and the LLM.

Entry points (the CLI, the call server, the test-call harness) ask here for what a call
needs; the layers below take small typed configs and never read settings themselves.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from functools import partial

from fastapi import APIRouter

from agent.call_session import CalendarConnection
from agent.campaign import Campaign
from app.settings import Settings
from calendar_backend import member_calendars
from calendar_backend.booking_settings import PoolMember
from calendar_backend.calendar_follow import OnSynced
from calendar_backend.google import connections as google
from calendar_backend.google import follow as google_follow
from calendar_backend.local_calendar import LocalCalendar
from calendar_backend.outlook import connections as outlook
from calendar_backend.outlook.follow import NotificationReceiver, keep_calendars_synced
from calendar_backend.pool import NoCalendar, PoolMemberCalendar, is_no_calendar, no_calendar_id
from calendar_backend.provider import CalendarProvider
from calendar_backend.reconcile import (
    ProviderFor,
    Settled,
    keep_claims_settled,
    settle_stale_claims,
)
from calendar_backend.token_store import TokenKeyMissing
from storage.database import Database
from telephony.call_records import EndedCall
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

    A campaign booking on a pool (``booking.pool``) gets each member's calendar opened the
    same way (:class:`~calendar_backend.pool.PoolMemberCalendar`, usable or not and why).
    """
    if campaign.booking.pool is not None:
        return CalendarConnection(None, True, members=tuple(
            _pool_member(campaign, member, database, settings, organisation_id)
            for member in campaign.booking.pool))
    reference = campaign.booking.calendar
    if organisation_id is not None and not _is_organisations(reference):
        # The CLI's server-wide connections are not an organisation's own.
        return CalendarConnection.unusable(
            f"{reference!r} is not a calendar connected for this organisation")
    return calendar_for(reference, database, settings,
                        zone=campaign.booking.availability.timezone,
                        organisation_id=organisation_id)


def _pool_member(
    campaign: Campaign, member: PoolMember, database: Database, settings: Settings,
    organisation_id: str | None,
) -> PoolMemberCalendar:
    """One pool member's calendar, opened as :func:`calendar_for` opens any reference (with
    the same refusals as a campaign's own calendar); a member without one has none to open."""
    if member.calendar is None:
        return PoolMemberCalendar(
            member.name, None, no_calendar_id(campaign.name, member.name, organisation_id), None)
    if organisation_id is not None and not _is_organisations(member.calendar):
        return PoolMemberCalendar(
            member.name, member.calendar, member.calendar, None,
            f"{member.calendar!r} is not a calendar connected for this organisation")
    connection = calendar_for(member.calendar, database, settings,
                              zone=campaign.booking.availability.timezone,
                              organisation_id=organisation_id)
    # A team member's claims are kept under their active connection, as for one calendar.
    return PoolMemberCalendar(
        member.name, member.calendar, connection.reference or member.calendar,
        connection.provider if connection.usable else None, connection.reason)


def _is_local(reference: str) -> bool:
    return reference == "local" or reference.startswith("local:")


def _is_organisations(reference: str) -> bool:
    """Whether an organisation's campaign may name ``reference``: its embedded calendar or
    one of its members' (checked when it is opened)."""
    return _is_local(reference) or member_calendars.is_member_ref(reference)


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
    own = f"local:{organisation_id}"
    if campaign.booking.pool is not None:
        # A pool member on the embedded calendar books on the organisation's own.
        pool = [m.model_copy(update={"calendar": own}) if m.calendar == "local" else m
                for m in campaign.booking.pool]
        booking = campaign.booking.model_copy(update={"pool": pool})
        return campaign.model_copy(update={"booking": booking})
    if campaign.booking.calendar != "local":
        return campaign
    booking = campaign.booking.model_copy(update={"calendar": own})
    return campaign.model_copy(update={"booking": booking})


def phone_setup(settings: Settings, database: Database,
                call_ended: Callable[[EndedCall], None] | None = None) -> PhoneSetup:
    """What every phone call of this process is wired with; ``call_ended`` hears of each
    call once it is recorded."""
    return PhoneSetup(
        twilio=settings.twilio(),
        speech=settings.speech(),
        llm=settings.llm(),
        connect_calendar=partial(connect_calendar, database=database, settings=settings),
        silence_timeout_seconds=settings.silence_timeout_seconds,
        call_ended=call_ended,
    )


def _provider_for(database: Database, settings: Settings) -> ProviderFor:
    def provider(reference: str) -> CalendarProvider | None:
        # A calendar-less pool member's claims are settled like any other's.
        if is_no_calendar(reference):
            return NoCalendar()
        return calendar_for(reference, database, settings).provider
    return provider


async def settle_claims(database: Database, settings: Settings) -> Settled:
    """Settle the bookings a dead process left pending (entry points that book run this on
    start-up): each is confirmed if its calendar has the event, else released."""
    return await settle_stale_claims(database, _provider_for(database, settings))


def claims_upkeep(
    database: Database, settings: Settings
) -> Callable[[asyncio.Event], Awaitable[None]]:
    """The call server's background task settling abandoned claims, from start-up on."""
    return partial(keep_claims_settled, database, _provider_for(database, settings))


def outlook_sync_upkeep(
    database: Database, settings: Settings, on_synced: OnSynced | None = None,
) -> Callable[[asyncio.Event], Awaitable[None]]:
    """The call server's background task keeping Outlook subscriptions alive and syncing
    every connected calendar each ``outlook_sync_interval_seconds``; ``on_synced`` hears
    what each sync did to bookings."""
    return partial(keep_calendars_synced, database, settings.outlook(),
                   settings.outlook_follow(), on_synced=on_synced)


def outlook_notifications(database: Database, settings: Settings,
                          on_synced: OnSynced | None = None) -> APIRouter:
    """The call server's route receiving Graph's change notifications."""
    from app.outlook_notifications import notifications_router

    receiver = NotificationReceiver(database, settings.outlook(),
                                    settings.outlook_follow().notification_url, on_synced)
    return notifications_router(receiver)


def google_sync_upkeep(
    database: Database, settings: Settings, on_synced: OnSynced | None = None,
) -> Callable[[asyncio.Event], Awaitable[None]]:
    """The call server's background task keeping Google push channels alive and syncing
    every connected Google calendar each ``google_sync_interval_seconds``; ``on_synced``
    hears what each sync did to bookings."""
    return partial(google_follow.keep_calendars_synced, database, settings.google(),
                   settings.google_follow(), on_synced=on_synced)


def google_notifications(database: Database, settings: Settings,
                         on_synced: OnSynced | None = None) -> APIRouter:
    """The call server's route receiving Google's push notifications."""
    from app.google_notifications import notifications_router

    return notifications_router(google_follow.NotificationReceiver(
        database, settings.google(), on_synced))
