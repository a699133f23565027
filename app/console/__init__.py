"""The operator console: server-rendered pages over the same services as the API.

Operators sign in with e-mail and password (argon2; a signed session cookie, SameSite=Lax,
HttpOnly); every form carries the session's CSRF token; failed sign-ins are limited per
e-mail and per client. Pages: first-run set-up (when nobody can sign in yet), Settings
(the signed-in member connects Outlook and Google, picks the calendar and the provider
booked on, disconnects; the providers' sign-ins come back to this app's callback),
campaigns (with the booking settings and the calendar owner, errors beside their fields),
a test call, calls with transcripts, bookings with cancel. Plain HTML forms: every page
works without JavaScript.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import defaultdict, deque
from pathlib import Path
from typing import Any, cast, get_args

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import UploadFile
from starlette.middleware.sessions import SessionMiddleware

from app.console.forms import (
    BOOKING_FIELDS,
    MEETING_TYPES,
    TEXT_FIELDS,
    WEEKDAYS,
    document_from_form,
    form_values,
)
from app.harness import CallerSpec
from app.operators import calls as org_calls
from app.operators.accounts import (
    AccountError,
    Organisation,
    any_operator,
    create_operator,
    sign_in,
)
from app.operators.bookings import CancelRefused, cancel_booking
from app.operators.calendars import (
    PROVIDER_NAMES,
    ConnectRefused,
    finish_connection,
    member_view,
    start_connection,
)
from app.operators.campaigns import (
    CampaignConflict,
    CampaignInvalid,
    create_campaign,
    get_campaign,
    list_campaigns,
    replace_campaign,
)
from app.operators.dialling import (
    Action,
    DiallingRefused,
    add_contacts,
    control_dialling,
    dialling_progress,
    list_contacts,
)
from app.operators.test_calls import TestCallRefused, TestCalls
from app.settings import Settings
from calendar_backend import member_calendars
from calendar_backend.member_calendars import Member, NotConnected
from calendar_backend.provider import CalendarUnavailable
from calendar_backend.token_store import TokenKeyMissing, TokenKeyWrong
from storage.database import Database

_TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
# Sign-in attempts that failed, per e-mail and per client address: past this many within
# the window, sign-in is refused for the rest of it.
FAILED_SIGN_INS = 5
SIGN_IN_WINDOW_SECONDS = 15 * 60


class _Failures:
    """Recent failed sign-ins by key (in this process; a restart forgets them)."""

    def __init__(self) -> None:
        self._times: dict[str, deque[float]] = defaultdict(deque)

    def blocked(self, *keys: str) -> bool:
        now = time.monotonic()
        for key in keys:
            times = self._times[key]
            while times and now - times[0] > SIGN_IN_WINDOW_SECONDS:
                times.popleft()
        return any(len(self._times[key]) >= FAILED_SIGN_INS for key in keys)

    def add(self, *keys: str) -> None:
        for key in keys:
            self._times[key].append(time.monotonic())


class _SignedOut(Exception):
    """The page needs a signed-in operator."""


class _Forbidden(Exception):
    """A form without the session's CSRF token."""


def create_console(
    database: Database, test_calls: TestCalls, *, session_secret: str | None = None,
    secure_cookies: bool = False, settings: Settings | None = None,
) -> FastAPI:
    """The console app (mount it at ``/console``). Without ``session_secret`` a random one is
    used: sessions then end when the server restarts. ``settings`` reach the calendar
    providers (Settings page); without them, the test calls' are used."""
    settings = settings or test_calls.settings
    console = FastAPI(title="booking-agent console", docs_url=None, redoc_url=None,
                      openapi_url=None)
    console.add_middleware(
        SessionMiddleware, secret_key=session_secret or secrets.token_urlsafe(32),
        session_cookie="booking_agent_session", same_site="lax", https_only=secure_cookies,
        max_age=12 * 3600)
    failures = _Failures()

    @console.exception_handler(_SignedOut)
    async def signed_out(request: Request, _exc: _SignedOut) -> Response:
        return RedirectResponse(request.url_for("console_login_page"), status_code=303)

    @console.exception_handler(_Forbidden)
    async def forbidden(request: Request, _exc: _Forbidden) -> Response:
        return _TEMPLATES.TemplateResponse(request, "forbidden.html", {"organisation": None},
                                           status_code=403)

    def csrf(request: Request) -> str:
        token = request.session.get("csrf")
        if token is None:
            token = request.session["csrf"] = secrets.token_urlsafe(24)
        return token

    async def form(request: Request) -> Any:
        data = await request.form()
        if not secrets.compare_digest(str(data.get("csrf", "")), csrf(request)):
            raise _Forbidden()
        return data

    def organisation(request: Request) -> Organisation:
        org = request.session.get("organisation")
        if not org:
            raise _SignedOut()
        return Organisation(org["id"], org["name"])

    def signed_in_member(request: Request) -> Member:
        org = organisation(request)
        operator_id = request.session.get("operator_id")
        found = None
        if operator_id:
            found = member_calendars.find_member(database, org.id, str(operator_id))
        else:  # a session from before members were recorded in it
            email = request.session.get("email")
            found = next((m for m in member_calendars.members(database, org.id)
                          if m.email == email), None)
        if found is None:
            raise _SignedOut()
        return found

    def page(request: Request, template: str, status: int = 200, **context: Any) -> Response:
        org = request.session.get("organisation")
        return _TEMPLATES.TemplateResponse(request, template, {
            "csrf": csrf(request), "organisation": org,
            "operator": request.session.get("email"), **context}, status_code=status)

    def go(request: Request, name: str, **params: str) -> Response:
        return RedirectResponse(request.url_for(name, **params), status_code=303)

    # -- signing in ---------------------------------------------------------------------

    @console.get("/login", response_class=HTMLResponse, name="console_login_page")
    async def login_page(request: Request) -> Response:
        if not await asyncio.to_thread(any_operator, database):
            return go(request, "console_setup_page")
        return page(request, "login.html", error=None, email="")

    @console.post("/login", name="console_login")
    async def login(request: Request) -> Response:
        data = await form(request)
        email = str(data.get("email", "")).strip().lower()[:320]
        client = request.client.host if request.client else "unknown"
        keys = (f"email:{email}", f"client:{client}")
        if failures.blocked(*keys):
            return page(request, "login.html", status=429, email=email, error="locked")
        operator = await asyncio.to_thread(sign_in, database, email,
                                           str(data.get("password", "")))
        if operator is None:
            failures.add(*keys)
            return page(request, "login.html", status=401, email=email, error="mismatch")
        request.session.clear()  # a fresh session (and CSRF token) at sign-in
        request.session.update(email=operator.email, operator_id=operator.id, organisation={
            "id": operator.organisation.id, "name": operator.organisation.name})
        return go(request, "console_campaigns_page")

    @console.post("/logout", name="console_logout")
    async def logout(request: Request) -> Response:
        await form(request)
        request.session.clear()
        return go(request, "console_login_page")

    @console.get("/setup", response_class=HTMLResponse, name="console_setup_page")
    async def setup_page(request: Request) -> Response:
        if await asyncio.to_thread(any_operator, database):
            return go(request, "console_login_page")
        return page(request, "setup.html", error=None, values={})

    @console.post("/setup", name="console_setup")
    async def setup(request: Request) -> Response:
        data = await form(request)
        if await asyncio.to_thread(any_operator, database):
            return go(request, "console_login_page")  # only the very first operator is made here
        values = {k: str(data.get(k, "")) for k in ("email", "organisation")}
        try:
            operator = await asyncio.to_thread(
                create_operator, database, values["email"], str(data.get("password", "")),
                values["organisation"])
        except AccountError as exc:
            return page(request, "setup.html", status=422, error=str(exc), values=values)
        request.session.clear()
        request.session.update(email=operator.email, operator_id=operator.id, organisation={
            "id": operator.organisation.id, "name": operator.organisation.name})
        return go(request, "console_campaigns_page")

    @console.get("/", name="console_home")
    async def home(request: Request) -> Response:
        return go(request, "console_campaigns_page")

    # -- campaigns ----------------------------------------------------------------------

    async def campaign_form(request: Request, *, campaign_id: str | None,
                            values: dict[str, Any], problems: dict[str, str],
                            status: int = 200) -> Response:
        org = organisation(request)
        owners = await asyncio.to_thread(member_calendars.members_with_calendar, database,
                                         org.id)
        return page(request, "campaign.html", status=status, campaign_id=campaign_id,
                    values=values, problems=problems, text_fields=TEXT_FIELDS,
                    booking_fields=BOOKING_FIELDS, weekdays=WEEKDAYS,
                    meeting_types=MEETING_TYPES, owners=owners)

    @console.get("/campaigns", response_class=HTMLResponse, name="console_campaigns_page")
    async def campaigns_page(request: Request) -> Response:
        org = organisation(request)
        found = await asyncio.to_thread(list_campaigns, database, org)
        return page(request, "campaigns.html", campaigns=found)

    @console.get("/campaigns/new", response_class=HTMLResponse, name="console_new_campaign_page")
    async def new_campaign_page(request: Request) -> Response:
        organisation(request)
        return await campaign_form(request, campaign_id=None, values=form_values({}), problems={})

    @console.get("/campaigns/{campaign_id}", response_class=HTMLResponse,
                 name="console_campaign_page")
    async def campaign_page(request: Request, campaign_id: str) -> Response:
        org = organisation(request)
        stored = await asyncio.to_thread(get_campaign, database, org, campaign_id)
        if stored is None:
            return page(request, "missing.html", status=404, what="campaign")
        return await campaign_form(request, campaign_id=campaign_id,
                             values=form_values(stored.document), problems={})

    async def save(request: Request, campaign_id: str | None) -> Response:
        org = organisation(request)
        data = await form(request)
        current = None
        if campaign_id is not None:
            stored = await asyncio.to_thread(get_campaign, database, org, campaign_id)
            if stored is None:
                return page(request, "missing.html", status=404, what="campaign")
            current = stored.document
        document = document_from_form(data, current)
        try:
            if campaign_id is None:
                saved = await asyncio.to_thread(create_campaign, database, org, document)
            else:
                saved = await asyncio.to_thread(replace_campaign, database, org, campaign_id,
                                                document)
        except CampaignInvalid as exc:
            problems = {path: message for path, message in exc.problems}
            return await campaign_form(request, campaign_id=campaign_id, status=422,
                                 values=form_values(document) | _typed(data),
                                 problems=problems)
        except CampaignConflict as exc:
            return await campaign_form(request, campaign_id=campaign_id, status=409,
                                 values=form_values(document) | _typed(data),
                                 problems={exc.path: str(exc)})
        assert saved is not None
        return go(request, "console_campaigns_page")

    @console.post("/campaigns", name="console_create_campaign")
    async def create(request: Request) -> Response:
        return await save(request, None)

    @console.post("/campaigns/{campaign_id}", name="console_update_campaign")
    async def update(request: Request, campaign_id: str) -> Response:
        return await save(request, campaign_id)

    # -- test calls ---------------------------------------------------------------------

    @console.post("/test-calls", name="console_start_test_call")
    async def start_test_call(request: Request) -> Response:
        org = organisation(request)
        data = await form(request)
        stored = await asyncio.to_thread(get_campaign, database, org,
                                         str(data.get("campaign_id", "")))
        if stored is None:
            return page(request, "missing.html", status=404, what="campaign")
        number = str(data.get("caller_number") or "+12125550100")
        try:
            caller = CallerSpec(number=number)
            call = await test_calls.start(org.id, stored.campaign, caller)
        except TestCallRefused as exc:
            return page(request, "missing.html", status=409, what=str(exc))
        return go(request, "console_test_call_page", call_id=call.id)

    @console.get("/test-calls/{call_id}", response_class=HTMLResponse,
                 name="console_test_call_page")
    async def test_call_page(request: Request, call_id: str) -> Response:
        org = organisation(request)
        call = test_calls.find(org.id, call_id)
        if call is None:
            return page(request, "missing.html", status=404, what="test call")
        return page(request, "test_call.html", call=call, error=None)

    @console.post("/test-calls/{call_id}/say", name="console_say")
    async def say(request: Request, call_id: str) -> Response:
        org = organisation(request)
        data = await form(request)
        call = test_calls.find(org.id, call_id)
        if call is None:
            return page(request, "missing.html", status=404, what="test call")
        text = str(data.get("text", "")).strip()[:2000]
        if text:
            try:
                await call.say(text)
            except TestCallRefused as exc:
                return page(request, "test_call.html", status=409, call=call, error=str(exc))
        return go(request, "console_test_call_page", call_id=call_id)

    @console.post("/test-calls/{call_id}/hang-up", name="console_hang_up")
    async def hang_up(request: Request, call_id: str) -> Response:
        org = organisation(request)
        await form(request)
        call = test_calls.find(org.id, call_id)
        if call is not None:
            await call.hang_up()
        return go(request, "console_test_call_page", call_id=call_id)

    # -- settings: the signed-in member's calendars ----------------------------------------

    async def settings_page_for(request: Request, *, status: int = 200,
                                error: str | None = None,
                                notice: str | None = None) -> Response:
        member = signed_in_member(request)
        before = await asyncio.to_thread(member_view, database, member)
        calendars: dict[str, Any] = {}
        problems: dict[str, str] = {}
        for connection in before.connections:
            if connection.status != "connected":
                continue
            try:
                calendars[connection.provider] = await member_calendars.list_calendars(
                    database, settings.outlook(), settings.google(), member.id,
                    connection.provider)
            except (CalendarUnavailable, NotConnected, TokenKeyMissing, TokenKeyWrong) as exc:
                problems[connection.provider] = getattr(exc, "reason", None) or str(exc)
        # Read after listing: a refresh refused just now shows as needing a reconnect.
        view = await asyncio.to_thread(member_view, database, member)
        cards = {c.provider: c for c in view.connections}
        return page(request, "settings.html", status=status, view=view, cards=cards,
                    calendars=calendars, calendar_problems=problems,
                    providers=PROVIDER_NAMES, error=error, notice=notice)

    @console.get("/settings", response_class=HTMLResponse, name="console_settings_page")
    async def settings_page(request: Request) -> Response:
        # Said once, after the sign-in came back (a reload does not repeat it).
        notice = PROVIDER_NAMES.get(str(request.session.pop("connected", "")))
        return await settings_page_for(request, notice=notice)

    def provider_of(name: str) -> member_calendars.Provider | None:
        return name if name in PROVIDER_NAMES else None  # type: ignore[return-value]

    @console.post("/settings/{provider}/connect", name="console_connect_calendar")
    async def connect_calendar(request: Request, provider: str) -> Response:
        member = signed_in_member(request)
        await form(request)
        chosen = provider_of(provider)
        if chosen is None:
            return page(request, "missing.html", status=404, what="calendar provider")
        root = str(request.url.replace(path="", query="", fragment=""))
        try:
            url = await start_connection(database, settings, member, chosen, root)
        except ConnectRefused as exc:
            return await settings_page_for(request, status=409, error=str(exc))
        return RedirectResponse(url, status_code=303)

    @console.get("/calendars/{provider}/callback", name="console_calendar_callback")
    async def calendar_callback(request: Request, provider: str) -> Response:
        # Where the provider's sign-in sends the browser back (API- or console-started).
        chosen = provider_of(provider)
        if chosen is None:
            return page(request, "missing.html", status=404, what="calendar provider")
        signed_in = request.session.get("operator_id") \
            if request.session.get("organisation") else None
        try:
            finished = await finish_connection(database, settings, chosen,
                                               dict(request.query_params),
                                               signed_in=signed_in)
        except ConnectRefused as exc:
            return page(request, "calendar_connected.html", status=400, error=str(exc),
                        provider=PROVIDER_NAMES[chosen], account=None)
        if request.session.get("organisation"):
            request.session["connected"] = chosen
            return go(request, "console_settings_page")
        return page(request, "calendar_connected.html", error=None,
                    provider=PROVIDER_NAMES[chosen], account=finished.connection.username)

    @console.post("/settings/{provider}/calendar", name="console_choose_calendar")
    async def choose_calendar(request: Request, provider: str) -> Response:
        member = signed_in_member(request)
        data = await form(request)
        chosen = provider_of(provider)
        if chosen is None:
            return page(request, "missing.html", status=404, what="calendar provider")
        try:
            await member_calendars.choose_calendar(
                database, settings.outlook(), settings.google(), member.id, chosen,
                str(data.get("calendar_id", "")))
        except (LookupError, ValueError, CalendarUnavailable) as exc:
            return await settings_page_for(request, status=409,
                                           error=getattr(exc, "reason", None) or str(exc))
        return go(request, "console_settings_page")

    @console.post("/settings/active", name="console_active_provider")
    async def active_provider(request: Request) -> Response:
        member = signed_in_member(request)
        data = await form(request)
        chosen = provider_of(str(data.get("provider", "")))
        try:
            if chosen is None:
                raise NotConnected("choose Outlook or Google")
            await asyncio.to_thread(member_calendars.set_active, database, member.id, chosen)
        except NotConnected as exc:
            return await settings_page_for(request, status=409, error=str(exc))
        return go(request, "console_settings_page")

    @console.post("/settings/{provider}/disconnect", name="console_disconnect_calendar")
    async def disconnect_calendar(request: Request, provider: str) -> Response:
        member = signed_in_member(request)
        await form(request)
        chosen = provider_of(provider)
        if chosen is None:
            return page(request, "missing.html", status=404, what="calendar provider")
        try:
            await member_calendars.disconnect(database, settings.outlook(), settings.google(),
                                              member.id, chosen)
        except NotConnected as exc:
            return await settings_page_for(request, status=409, error=str(exc))
        return go(request, "console_settings_page")

    # -- calls and bookings ---------------------------------------------------------------

    @console.get("/calls", response_class=HTMLResponse, name="console_calls_page")
    async def calls_page(request: Request) -> Response:
        org = organisation(request)
        found = await asyncio.to_thread(org_calls.list_calls, database, org, limit=100)
        return page(request, "calls.html", calls=found)

    @console.get("/calls/{call_id}", response_class=HTMLResponse, name="console_call_page")
    async def call_page(request: Request, call_id: str) -> Response:
        org = organisation(request)
        record = await asyncio.to_thread(org_calls.get_call, database, org, call_id)
        if record is None:
            return page(request, "missing.html", status=404, what="call")
        return page(request, "call.html", call=record)

    @console.get("/bookings", response_class=HTMLResponse, name="console_bookings_page")
    async def bookings_page(request: Request) -> Response:
        org = organisation(request)
        found = await asyncio.to_thread(org_calls.list_bookings, database, org, limit=200)
        return page(request, "bookings.html", bookings=found, error=None)

    @console.post("/bookings/{booking_id}/cancel", name="console_cancel_booking")
    async def cancel(request: Request, booking_id: str) -> Response:
        org = organisation(request)
        await form(request)
        try:
            cancelled = await cancel_booking(database, org, booking_id, settings)
        except CancelRefused as exc:
            found = await asyncio.to_thread(org_calls.list_bookings, database, org, limit=200)
            return page(request, "bookings.html", status=409, bookings=found, error=str(exc))
        if cancelled is None:
            return page(request, "missing.html", status=404, what="booking")
        return go(request, "console_bookings_page")

    # -- contacts and dialling -----------------------------------------------------------

    async def dialling_page_for(request: Request, campaign_id: str, *, status: int = 200,
                                error: DiallingRefused | None = None) -> Response:
        org = organisation(request)
        stored = await asyncio.to_thread(get_campaign, database, org, campaign_id)
        if stored is None:
            return page(request, "missing.html", status=404, what="campaign")
        try:
            progress = await asyncio.to_thread(dialling_progress, database, org, campaign_id)
        except DiallingRefused:
            progress = None  # no contact list yet: the page offers the upload
        contacts = await asyncio.to_thread(list_contacts, database, org, campaign_id)
        return page(request, "dialling.html", status=status, campaign=stored,
                    progress=progress, contacts=contacts, error=error)

    @console.get("/campaigns/{campaign_id}/dialling", response_class=HTMLResponse,
                 name="console_dialling_page")
    async def dialling_page(request: Request, campaign_id: str) -> Response:
        return await dialling_page_for(request, campaign_id)

    @console.post("/campaigns/{campaign_id}/contacts", name="console_upload_contacts")
    async def upload_contacts(request: Request, campaign_id: str) -> Response:
        org = organisation(request)
        data = await form(request)
        upload = data.get("contacts")
        raw = await upload.read() if isinstance(upload, UploadFile) else b""
        try:
            await asyncio.to_thread(add_contacts, database, org, campaign_id, raw)
        except DiallingRefused as exc:
            return await dialling_page_for(request, campaign_id, status=exc.status, error=exc)
        return go(request, "console_dialling_page", campaign_id=campaign_id)

    @console.post("/campaigns/{campaign_id}/dialling/{action}", name="console_control_dialling")
    async def control(request: Request, campaign_id: str, action: str) -> Response:
        org = organisation(request)
        await form(request)
        if action not in get_args(Action):
            return page(request, "missing.html", status=404, what="dialling action")
        try:
            await asyncio.to_thread(control_dialling, database, org, campaign_id,
                                    cast(Action, action))
        except DiallingRefused as exc:
            return await dialling_page_for(request, campaign_id, status=exc.status, error=exc)
        return go(request, "console_dialling_page", campaign_id=campaign_id)

    return console


def _typed(data: Any) -> dict[str, Any]:
    # What the operator typed, shown back as typed beside its error (not the stored value).
    return {field: str(data.get(field, "")) for field, _, _, _ in TEXT_FIELDS + BOOKING_FIELDS}
