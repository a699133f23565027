"""The operator API's calendars: each member of the organisation connects their own Outlook
and/or Google calendar (seed 002), under ``/api/v1/members/{operator_id}/calendars``.

API keys belong to the organisation, not to a member, so the member is a path parameter;
a member of another organisation answers 404 exactly as an unknown id does. Connecting
returns the provider's sign-in URL; the browser comes back to this server's callback
(served by the console), which finishes the connection. Campaigns book on a member's active
calendar with ``booking.calendar: member:<operator_id>``.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from app.operator_api import ApiError, Org, Problems
from app.operators.calendars import (
    ConnectionView,
    ConnectRefused,
    MemberCalendarsView,
    member_view,
    redirect_uri,
    start_connection,
)
from app.operators.webhooks import announce_owner_changes
from app.settings import Settings
from calendar_backend import member_calendars
from calendar_backend.google import sync as google_sync
from calendar_backend.member_calendars import Member, NotConnected, Provider
from calendar_backend.outlook import sync as outlook_sync
from calendar_backend.provider import CalendarUnavailable, UpcomingEvent
from calendar_backend.token_store import TokenKeyMissing, TokenKeyWrong
from storage.database import Database

_NO_MEMBER = "no such member"
_404 = {404: {"model": Problems}}
_409 = {404: {"model": Problems}, 409: {"model": Problems}}


class MemberOut(BaseModel):
    """A member of the organisation and the calendar reference campaigns book on."""

    id: str
    email: str
    calendar_ref: str
    active_provider: Provider | None
    has_calendar: bool


class MemberList(BaseModel):
    """The organisation's members by e-mail."""

    members: list[MemberOut]


class ConnectStart(BaseModel):
    """Start connecting: optionally the account to suggest on the sign-in page."""

    model_config = ConfigDict(extra="forbid")

    login_hint: str | None = Field(default=None, max_length=320)


class SignInStarted(BaseModel):
    """Open ``sign_in_url`` in the member's browser; it comes back to ``redirect_uri``."""

    sign_in_url: str
    redirect_uri: str
    expires_in_seconds: int


class CalendarOut(BaseModel):
    """A calendar of the connected account (``chosen``: bookings land on it)."""

    id: str
    name: str
    can_edit: bool
    chosen: bool


class CalendarList(BaseModel):
    """The connected account's calendars."""

    calendars: list[CalendarOut]


class CalendarChoice(BaseModel):
    """The calendar to book on, from the account's list."""

    model_config = ConfigDict(extra="forbid")

    calendar_id: str = Field(min_length=1, max_length=1024)


class ActiveChoice(BaseModel):
    """The provider to book on (connected already: no new sign-in)."""

    model_config = ConfigDict(extra="forbid")

    provider: Provider


class EventList(BaseModel):
    """The chosen calendar's events from ``start`` to ``end``, by start."""

    start: datetime
    end: datetime
    events: list[UpcomingEvent]


class SyncOut(BaseModel):
    """What a sync of the Outlook calendar did: Graph requests made, events in the synced
    copy, and the bookings that followed the owner's changes (by id)."""

    full: bool
    requests: int
    events: int
    changed: int
    removed: int
    cancelled_by_owner: list[str]
    moved: list[str]
    conflicts: list[str]
    declined: list[str]


class SyncedEventOut(BaseModel):
    """An event of the synced copy, with the meeting link found in it (Teams, Zoom, Meet,
    Webex), if any."""

    model_config = ConfigDict(from_attributes=True)

    event_id: str
    subject: str
    start: datetime
    end: datetime
    show_as: str
    is_all_day: bool
    is_cancelled: bool = False  # Google's copy keeps no cancelled events
    join_url: str | None


class SyncedEventList(BaseModel):
    """The synced copy's events from ``start`` to ``end``, by start, and when it was synced."""

    start: datetime
    end: datetime
    synced_at: datetime | None
    events: list[SyncedEventOut]


def calendars_router(database: Database, settings: Settings) -> APIRouter:
    """The calendars routes over ``database``, reaching the providers ``settings`` name."""
    router = APIRouter(tags=["calendars"])

    def member(org: Org, operator_id: str) -> Member:
        found = member_calendars.find_member(database, org.id, operator_id) \
            if "\x00" not in operator_id else None
        if found is None:
            raise ApiError(404, _NO_MEMBER)
        return found

    def unavailable(exc: CalendarUnavailable) -> ApiError:
        if exc.needs_reconnect:
            return ApiError(409, f"the calendar needs reconnecting: {exc.reason}")
        return ApiError(503, f"the calendar did not answer: {exc.reason}")

    @router.get("/members", response_model=MemberList)
    async def list_members(org: Org) -> MemberList:
        """The organisation's members; ``calendar_ref`` is what a campaign's
        ``booking.calendar`` names to book on a member's active calendar."""
        def read() -> MemberList:
            out = []
            for m in member_calendars.members(database, org.id):
                usable, _ = member_calendars.resolve(database, org.id, m.ref)
                out.append(MemberOut(
                    id=m.id, email=m.email, calendar_ref=m.ref, has_calendar=usable is not None,
                    active_provider=member_calendars.active_provider(database, m.id)))
            return MemberList(members=out)
        return await asyncio.to_thread(read)

    @router.get("/members/{operator_id}/calendars", response_model=MemberCalendarsView,
                responses=_404)
    async def member_calendars_view(org: Org, operator_id: str) -> MemberCalendarsView:
        """The member's connections (status, and the reason when one needs a reconnect;
        account, account type, time zone, chosen calendar, provider, active flag)."""
        found = await asyncio.to_thread(member, org, operator_id)
        return await asyncio.to_thread(member_view, database, found)

    @router.post("/members/{operator_id}/calendars/{provider}/connect", status_code=201,
                 response_model=SignInStarted, responses=_409)
    async def connect(org: Org, operator_id: str, provider: Provider, request: Request,
                      start: ConnectStart | None = None) -> SignInStarted:
        """Start connecting the member's Outlook or Google calendar: open ``sign_in_url`` in
        the member's browser; the provider sends it back to this server, which finishes the
        connection (it becomes the member's active provider)."""
        found = await asyncio.to_thread(member, org, operator_id)
        root = str(request.url.replace(path="", query="", fragment=""))
        try:
            url = await start_connection(database, settings, found, provider, root,
                                         login_hint=start.login_hint if start else None)
        except ConnectRefused as exc:
            raise ApiError(409, str(exc)) from None
        return SignInStarted(sign_in_url=url, redirect_uri=redirect_uri(settings, root, provider),
                             expires_in_seconds=600)

    @router.put("/members/{operator_id}/calendars/active", response_model=MemberCalendarsView,
                responses=_409)
    async def set_active(org: Org, operator_id: str, choice: ActiveChoice) -> MemberCalendarsView:
        """Book on the member's other connected provider (no new sign-in)."""
        found = await asyncio.to_thread(member, org, operator_id)
        try:
            await asyncio.to_thread(member_calendars.set_active, database, found.id,
                                    choice.provider)
        except NotConnected as exc:
            raise ApiError(409, str(exc)) from None
        return await asyncio.to_thread(member_view, database, found)

    @router.delete("/members/{operator_id}/calendars/{provider}",
                   response_model=MemberCalendarsView, responses=_404)
    async def disconnect(org: Org, operator_id: str, provider: Provider) -> MemberCalendarsView:
        """Disconnect (the tokens are removed; Google's grant is revoked). If it was the
        active provider the other connected one takes over; with none left, campaigns
        booking on the member stop offering booking and say why."""
        found = await asyncio.to_thread(member, org, operator_id)
        try:
            await member_calendars.disconnect(database, settings.outlook(), settings.google(),
                                              found.id, provider)
        except NotConnected as exc:
            raise ApiError(404, str(exc)) from None
        return await asyncio.to_thread(member_view, database, found)

    @router.get("/members/{operator_id}/calendars/{provider}/calendars",
                response_model=CalendarList, responses=_409)
    async def calendars(org: Org, operator_id: str, provider: Provider) -> CalendarList:
        """The connected account's calendars, the chosen one marked."""
        found = await asyncio.to_thread(member, org, operator_id)
        try:
            listed = await member_calendars.list_calendars(
                database, settings.outlook(), settings.google(), found.id, provider)
        except NotConnected as exc:
            raise ApiError(404, str(exc)) from None
        except CalendarUnavailable as exc:
            raise unavailable(exc) from None
        except (TokenKeyMissing, TokenKeyWrong) as exc:
            raise ApiError(409, str(exc)) from None
        return CalendarList(calendars=[CalendarOut(id=i, name=n, can_edit=e, chosen=c)
                                       for i, n, e, c in listed])

    @router.put("/members/{operator_id}/calendars/{provider}/calendar",
                response_model=ConnectionView, responses=_409)
    async def choose(org: Org, operator_id: str, provider: Provider,
                     choice: CalendarChoice) -> ConnectionView:
        """Book on another calendar of the account (from its list; not a read-only one)."""
        found = await asyncio.to_thread(member, org, operator_id)
        try:
            await member_calendars.choose_calendar(
                database, settings.outlook(), settings.google(), found.id, provider,
                choice.calendar_id)
        except NotConnected as exc:
            raise ApiError(404, str(exc)) from None
        except (LookupError, ValueError) as exc:  # no such calendar, or a read-only one
            raise ApiError(409, str(exc)) from None
        except CalendarUnavailable as exc:
            raise unavailable(exc) from None
        view = await asyncio.to_thread(member_view, database, found)
        return next(c for c in view.connections if c.provider == provider)

    @router.get("/members/{operator_id}/calendars/{provider}/events", response_model=EventList,
                responses=_409)
    async def events(org: Org, operator_id: str, provider: Provider,
                     days: Annotated[int, Query(ge=1, le=90)] = 14) -> EventList:
        """The chosen calendar's upcoming events, from now to ``days`` ahead."""
        found = await asyncio.to_thread(member, org, operator_id)
        start = datetime.now(UTC)
        try:
            listed = await member_calendars.upcoming_events(
                database, settings.outlook(), settings.google(), found.id, provider,
                days=days, now=start)
        except NotConnected as exc:
            raise ApiError(404, str(exc)) from None
        except CalendarUnavailable as exc:
            raise unavailable(exc) from None
        except (TokenKeyMissing, TokenKeyWrong) as exc:
            raise ApiError(409, str(exc)) from None
        return EventList(start=start, end=start + timedelta(days=days), events=listed)

    def connection_ref(org: Org, operator_id: str, provider: Provider) -> str:
        found = member(org, operator_id)
        try:
            return member_calendars.connection(database, found.id, provider).ref
        except NotConnected as exc:
            raise ApiError(404, str(exc)) from None

    @router.post("/members/{operator_id}/calendars/{provider}/sync", response_model=SyncOut,
                 responses=_409)
    async def sync(org: Org, operator_id: str, provider: Provider) -> SyncOut:
        """Sync the member's calendar now (as notifications and the schedule do): bookings
        follow what the owner deleted or moved there (seed 003)."""
        ref = await asyncio.to_thread(connection_ref, org, operator_id, provider)
        try:
            if provider == "outlook":
                done = await outlook_sync.sync_calendar(database, settings.outlook(), ref)
            else:
                done = await google_sync.sync_calendar(database, settings.google(), ref)
        except CalendarUnavailable as exc:
            raise unavailable(exc) from None
        except (TokenKeyMissing, TokenKeyWrong) as exc:
            raise ApiError(409, str(exc)) from None
        await asyncio.to_thread(announce_owner_changes, database, done)
        return SyncOut(full=done.full, requests=done.requests, events=done.events,
                       changed=done.changed, removed=done.removed,
                       cancelled_by_owner=done.cancelled, moved=done.moved,
                       conflicts=done.conflicts, declined=done.declined)

    @router.get("/members/{operator_id}/calendars/{provider}/synced-events",
                response_model=SyncedEventList, responses=_404)
    async def synced(org: Org, operator_id: str, provider: Provider,
                     days: Annotated[int, Query(ge=1, le=90)] = 14) -> SyncedEventList:
        """The synced copy of the member's calendar (no request to the provider), with each
        event's meeting link."""
        ref = await asyncio.to_thread(connection_ref, org, operator_id, provider)
        start = datetime.now(UTC)
        end = start + timedelta(days=days)
        module = outlook_sync if provider == "outlook" else google_sync

        def read() -> SyncedEventList:
            events = module.synced_events(database, ref, start=start, end=end)
            return SyncedEventList(
                start=start, end=end, synced_at=module.sync_status(database, ref).synced_at,
                events=[SyncedEventOut.model_validate(e) for e in events])

        return await asyncio.to_thread(read)

    return router
