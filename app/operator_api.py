"""The operator REST API, ``/api/v1``: a FastAPI app mounted by ``booking-agent serve``.

Every request carries an organisation's API key (``Authorization: Bearer bka_...``); a
missing, malformed or revoked key is 401. Every object is looked up within the key's
organisation, so another organisation's ids answer 404 exactly as unknown ids do. A body
that is not a valid campaign is 422 with every problem by field path, in the same words
the CLI prints (:mod:`app.validation`). The schema is at ``/api/v1/openapi.json``.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator

from agent.campaign import Campaign
from app.harness import CallerSpec
from app.operators import calls as org_calls
from app.operators import webhooks
from app.operators.accounts import Organisation, organisation_of_key
from app.operators.bookings import CancelRefused, cancel_booking
from app.operators.calls import BookingView
from app.operators.campaigns import (
    CampaignConflict,
    CampaignInvalid,
    StoredCampaign,
    create_campaign,
    delete_campaign,
    export_yaml,
    get_campaign,
    list_campaigns,
    parse_yaml,
    patch_campaign,
    replace_campaign,
)
from app.operators.dialling_api import dialling_router
from app.operators.test_calls import TestCall, TestCallRefused, TestCalls
from app.settings import Settings
from calendar_backend.token_store import TokenCipher, TokenKeyMissing, cipher
from caller_language.phone_numbers import e164
from storage.database import Database
from telephony.call_records import CallRecord

# A campaign document is a few kilobytes; anything far larger is refused before parsing.
MAX_BODY_BYTES = 256 * 1024
_CAMPAIGN_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": Campaign.model_json_schema()}}}}
_YAML_BODY = {"requestBody": {"required": True, "content": {
    "application/yaml": {"schema": {"type": "string"}}}}}


class Problem(BaseModel):
    """One problem with a request, at a dotted field path ("" for the whole body)."""

    path: str
    message: str


class Problems(BaseModel):
    """Why a request was refused: every problem found, not just the first."""

    detail: str
    problems: list[Problem] = Field(default_factory=list)


class CampaignOut(BaseModel):
    """A stored campaign: the document as set (defaults left out) and its bookkeeping."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    document: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class CampaignList(BaseModel):
    """The organisation's campaigns, by name."""

    campaigns: list[CampaignOut]


class CallSummary(BaseModel):
    """A call in a listing (``GET /calls/{id}`` has its transcript and the rest)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    campaign: str
    direction: str
    caller_number: str | None
    status: str
    outcome: str | None
    started_at: datetime
    ended_at: datetime | None
    duration_seconds: float | None


class CallList(BaseModel):
    """A page of calls, newest first; ``next_before`` fetches the next page."""

    calls: list[CallSummary]
    next_before: datetime | None


class BookingList(BaseModel):
    """The organisation's bookings by start time."""

    bookings: list[BookingView]


class TestCallStart(BaseModel):
    """A test call of one of the organisation's campaigns, as a caller from ``caller_number``
    (it decides the caller's zone guess, as on the phone)."""

    model_config = ConfigDict(extra="forbid")

    campaign_id: str = Field(min_length=1, max_length=64)
    caller_number: str = "+12125550100"
    first_name: str | None = Field(default=None, max_length=100)

    @field_validator("caller_number")
    @classmethod
    def _e164(cls, value: str) -> str:
        return e164(value)


class CallerLine(BaseModel):
    """What the caller says (as a speech recogniser would print it)."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=2000)


class TestCallState(BaseModel):
    """A test call: the lines said since the last request (``lines``), and whether it is over
    (then ``outcome`` and ``bookings`` are set, and ``GET /calls/{id}`` has its record)."""

    id: str
    lines: list[dict[str, str]]
    ended: bool
    outcome: str | None = None
    bookings: list[dict[str, Any]] = Field(default_factory=list)
    # Booking is on but this call cannot book: why (e.g. the owner has no calendar connected).
    booking_unavailable: str | None = None

    @classmethod
    def of(cls, call: TestCall, lines: list[dict[str, str]]) -> TestCallState:
        """The state of ``call`` with ``lines`` as the news."""
        result = call.result
        return cls(id=call.id, lines=lines, ended=call.ended,
                   outcome=result.outcome if result else None,
                   bookings=result.bookings if result else [],
                   booking_unavailable=call.booking_unavailable)


class WebhookIn(BaseModel):
    """An endpoint to register: an http(s) URL and the events it wants."""

    model_config = ConfigDict(extra="forbid")

    url: HttpUrl
    events: list[Literal["booking.created", "booking.moved", "booking.cancelled",
                         "call.ended"]] = Field(min_length=1, max_length=4)


class WebhookOut(BaseModel):
    """A registered endpoint (``secret`` only in the answer that registered it)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    url: str
    events: list[str]
    created_at: datetime
    secret: str | None = None


class WebhookList(BaseModel):
    """The organisation's endpoints."""

    webhooks: list[WebhookOut]


class DeliveryLog(BaseModel):
    """An endpoint's deliveries, newest event first."""

    deliveries: list[webhooks.Delivery]


class ApiError(Exception):
    """A refusal with its status and :class:`Problems`."""

    def __init__(self, status: int, detail: str, problems: list[Problem] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.body, self.headers = status, Problems(
            detail=detail, problems=problems or []), headers


def _invalid(exc: CampaignInvalid) -> ApiError:
    return ApiError(422, "invalid campaign",
                    [Problem(path=path, message=message) for path, message in exc.problems])


_NOT_FOUND = "no such campaign"
_bearer = HTTPBearer(auto_error=False)


def _organisation(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Organisation:
    """The organisation the request's API key acts for (401 without a valid one)."""
    database: Database = request.app.state.database
    found = organisation_of_key(database, credentials.credentials) if credentials else None
    if found is None:
        raise ApiError(401, "a valid API key is required (Authorization: Bearer bka_...)",
                       headers={"WWW-Authenticate": "Bearer"})
    return found


async def _json_body(request: Request) -> Any:
    """The request body as JSON data (422 if it is not JSON, 413 if too large)."""
    raw = await _bounded_body(request)
    try:
        return json.loads(raw, parse_constant=_not_json)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ApiError(422, "invalid request",
                       [Problem(path="", message=f"the body is not JSON: {exc}")]) from None


def _not_json(constant: str) -> Any:
    # Python reads NaN and Infinity; JSON (and a database's JSON column) has no such thing.
    raise ValueError(f"{constant} is not a JSON value")


Org = Annotated[Organisation, Depends(_organisation)]
Body = Annotated[Any, Depends(_json_body)]


def create_operator_api(
    database: Database, settings: Settings, test_calls: TestCalls | None = None
) -> FastAPI:
    """The API app for ``database`` (mount it at ``/api/v1``); test calls run with
    ``settings`` (the LLM, if configured) as phone calls do, in ``test_calls`` (shared with
    the console)."""
    api = FastAPI(title="booking-agent operator API", version="1",
                  responses={401: {"model": Problems}, 422: {"model": Problems}})
    api.state.database = database
    test_calls = test_calls or TestCalls(database, settings)
    api.state.test_calls = test_calls
    api.include_router(dialling_router(_organisation, ApiError))

    api.include_router(_calendars_router(database, settings))

    @api.exception_handler(ApiError)
    async def refused(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body.model_dump(), status_code=exc.status, headers=exc.headers)

    @api.exception_handler(RequestValidationError)
    async def unreadable(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [Problem(path=".".join(str(p) for p in item["loc"][1:]), message=item["msg"])
                    for item in exc.errors()]
        return JSONResponse(Problems(detail="invalid request", problems=problems).model_dump(),
                            status_code=422)

    def found(campaign: StoredCampaign | None) -> CampaignOut:
        if campaign is None:
            raise ApiError(404, _NOT_FOUND)
        return CampaignOut.model_validate(campaign)

    @api.get("/campaigns", response_model=CampaignList, tags=["campaigns"])
    def campaigns(org: Org) -> CampaignList:
        """The organisation's campaigns."""
        return CampaignList(campaigns=[CampaignOut.model_validate(c)
                                       for c in list_campaigns(database, org)])

    @api.post("/campaigns", status_code=201, response_model=CampaignOut, tags=["campaigns"],
              responses={409: {"model": Problems}}, openapi_extra=_CAMPAIGN_BODY)
    def create(org: Org, body: Body) -> CampaignOut:
        """Create a campaign from a campaign document (the fields of a campaign file)."""
        try:
            return found(create_campaign(database, org, body))
        except CampaignInvalid as exc:
            raise _invalid(exc) from None
        except CampaignConflict as exc:
            raise ApiError(409, str(exc)) from None

    @api.post("/campaigns/import", status_code=201, response_model=CampaignOut,
              tags=["campaigns"], responses={409: {"model": Problems}}, openapi_extra=_YAML_BODY)
    async def import_yaml(org: Org, request: Request) -> CampaignOut:
        """Create a campaign from a campaign file (YAML text, as the CLI reads it)."""
        raw = await _bounded_body(request)
        try:
            text = raw.decode("utf-8")
            document = parse_yaml(text)
            return found(create_campaign(database, org, document))
        except UnicodeDecodeError:
            raise ApiError(422, "invalid campaign",
                           [Problem(path="", message="the file is not UTF-8 text")]) from None
        except CampaignInvalid as exc:
            raise _invalid(exc) from None
        except CampaignConflict as exc:
            raise ApiError(409, str(exc)) from None

    @api.get("/campaigns/{campaign_id}", response_model=CampaignOut, tags=["campaigns"],
             responses={404: {"model": Problems}})
    def read(org: Org, campaign_id: str) -> CampaignOut:
        """One campaign."""
        return found(get_campaign(database, org, campaign_id))

    @api.get("/campaigns/{campaign_id}/export", response_class=PlainTextResponse,
             tags=["campaigns"], responses={404: {"model": Problems}})
    def export(org: Org, campaign_id: str) -> PlainTextResponse:
        """The campaign as a campaign file (YAML)."""
        campaign = get_campaign(database, org, campaign_id)
        if campaign is None:
            raise ApiError(404, _NOT_FOUND)
        return PlainTextResponse(export_yaml(campaign), media_type="application/yaml")

    @api.put("/campaigns/{campaign_id}", response_model=CampaignOut, tags=["campaigns"],
             responses={404: {"model": Problems}, 409: {"model": Problems}},
             openapi_extra=_CAMPAIGN_BODY)
    def replace(org: Org, campaign_id: str, body: Body) -> CampaignOut:
        """Replace a campaign's document whole."""
        return _changed(lambda: replace_campaign(database, org, campaign_id, body))

    @api.patch("/campaigns/{campaign_id}", response_model=CampaignOut, tags=["campaigns"],
               responses={404: {"model": Problems}, 409: {"model": Problems}})
    def patch(org: Org, campaign_id: str, body: Body) -> CampaignOut:
        """Change some fields (a JSON merge patch, RFC 7396): ``{"booking": {"enabled":
        false}}`` turns booking off. The result is validated whole."""
        return _changed(lambda: patch_campaign(database, org, campaign_id, body))

    def _changed(change: Any) -> CampaignOut:
        try:
            return found(change())
        except CampaignInvalid as exc:
            raise _invalid(exc) from None
        except CampaignConflict as exc:
            raise ApiError(409, str(exc)) from None

    @api.delete("/campaigns/{campaign_id}", status_code=204, tags=["campaigns"],
                responses={404: {"model": Problems}})
    def delete(org: Org, campaign_id: str) -> Response:
        """Delete a campaign."""
        if not delete_campaign(database, org, campaign_id):
            raise ApiError(404, _NOT_FOUND)
        return Response(status_code=204)

    # -- calls and bookings ------------------------------------------------------------

    @api.get("/calls", response_model=CallList, tags=["calls"])
    def calls(org: Org, campaign: str | None = None, outcome: str | None = None,
              since: datetime | None = None, before: datetime | None = None,
              limit: Annotated[int, Query(ge=1, le=org_calls.MAX_PAGE)] = 50) -> CallList:
        """The organisation's calls, newest first, filtered by campaign name, outcome and
        start time; pass the last page's ``next_before`` as ``before`` for the next."""
        found_calls = org_calls.list_calls(database, org, campaign=campaign, outcome=outcome,
                                           since=since, before=before, limit=limit)
        return CallList(calls=[CallSummary.model_validate(c) for c in found_calls],
                        next_before=found_calls[-1].started_at
                        if len(found_calls) == limit else None)

    @api.get("/calls/{call_id}", response_model=CallRecord, tags=["calls"],
             responses={404: {"model": Problems}})
    def call(org: Org, call_id: str) -> CallRecord:
        """One call: transcript, tool calls, bookings, outcome, duration, per-turn latency."""
        record = org_calls.get_call(database, org, call_id)
        if record is None:
            raise ApiError(404, "no such call")
        return record

    @api.get("/bookings", response_model=BookingList, tags=["bookings"])
    def bookings(org: Org, status: str | None = None,
                 limit: Annotated[int, Query(ge=1, le=org_calls.MAX_PAGE)] = 50) -> BookingList:
        """The organisation's bookings by start time (of one status if given)."""
        return BookingList(bookings=org_calls.list_bookings(database, org, status=status,
                                                            limit=limit))

    def _booking(org: Organisation, booking_id: str) -> BookingView:
        booking = org_calls.get_booking(database, org, booking_id)
        if booking is None:
            raise ApiError(404, "no such booking")
        return booking

    @api.get("/bookings/{booking_id}", response_model=BookingView, tags=["bookings"],
             responses={404: {"model": Problems}})
    def booking(org: Org, booking_id: str) -> BookingView:
        """One booking."""
        return _booking(org, booking_id)

    @api.post("/bookings/{booking_id}/cancel", response_model=BookingView, tags=["bookings"],
              responses={404: {"model": Problems}, 409: {"model": Problems}})
    async def cancel(org: Org, booking_id: str) -> BookingView:
        """Cancel a confirmed booking on its calendar; the attendee is told."""
        try:
            cancelled = await cancel_booking(database, org, booking_id, settings)
        except CancelRefused as exc:
            raise ApiError(409, str(exc)) from None
        if cancelled is None:
            raise ApiError(404, "no such booking")
        return cancelled

    # -- test calls ----------------------------------------------------------------------

    def _test_call(org: Organisation, call_id: str) -> TestCall:
        call = test_calls.find(org.id, call_id)
        if call is None:
            raise ApiError(404, "no such test call running here")
        return call

    @api.post("/test-calls", status_code=201, response_model=TestCallState,
              tags=["test calls"], responses={404: {"model": Problems}, 409: {"model": Problems}})
    async def start_test_call(org: Org, start: TestCallStart) -> TestCallState:
        """Start a text call of a campaign: the agent's opening comes back; then send the
        caller's lines to ``/test-calls/{id}/say``. Same dialogue and booking as a phone call."""
        stored = await asyncio.to_thread(get_campaign, database, org, start.campaign_id)
        if stored is None:
            raise ApiError(404, _NOT_FOUND)
        caller = CallerSpec(number=start.caller_number, first_name=start.first_name)
        try:
            call = await test_calls.start(org.id, stored.campaign, caller)
        except TestCallRefused as exc:
            raise ApiError(409, str(exc)) from None
        return TestCallState.of(call, call.lines)

    @api.post("/test-calls/{call_id}/say", response_model=TestCallState, tags=["test calls"],
              responses={404: {"model": Problems}, 409: {"model": Problems}})
    async def say(org: Org, call_id: str, said: CallerLine) -> TestCallState:
        """The caller says a line; the agent's answer comes back."""
        call = _test_call(org, call_id)
        try:
            lines = await call.say(said.text)
        except TestCallRefused as exc:
            raise ApiError(409, str(exc)) from None
        return TestCallState.of(call, lines)

    @api.post("/test-calls/{call_id}/hang-up", response_model=TestCallState,
              tags=["test calls"], responses={404: {"model": Problems}})
    async def hang_up(org: Org, call_id: str) -> TestCallState:
        """The caller hangs up; the call is recorded."""
        call = _test_call(org, call_id)
        await call.hang_up()
        return TestCallState.of(call, [])

    @api.get("/test-calls/{call_id}", response_model=TestCallState, tags=["test calls"],
             responses={404: {"model": Problems}})
    def test_call(org: Org, call_id: str) -> TestCallState:
        """A test call's whole conversation so far."""
        call = _test_call(org, call_id)
        return TestCallState.of(call, call.lines)

    # -- webhooks --------------------------------------------------------------------------

    def _cipher() -> TokenCipher:
        try:
            return cipher(settings.outlook())
        except TokenKeyMissing:
            raise ApiError(409, "this server keeps webhook secrets encrypted and has no "
                                "BOOKING_AGENT_TOKEN_KEY; ask its administrator") from None

    @api.post("/webhooks", status_code=201, response_model=WebhookOut, tags=["webhooks"],
              responses={409: {"model": Problems}})
    def register_webhook(org: Org, webhook: WebhookIn) -> WebhookOut:
        """Send these events to this URL, signed (``Booking-Agent-Signature: t=..,v1=..``,
        HMAC-SHA256 over ``"<t>.<body>"`` with the secret returned here, once)."""
        endpoint, secret = webhooks.register(database, _cipher(), org, str(webhook.url),
                                             webhook.events)
        return WebhookOut(id=endpoint.id, url=endpoint.url, events=endpoint.events,
                          created_at=endpoint.created_at, secret=secret)

    @api.get("/webhooks", response_model=WebhookList, tags=["webhooks"])
    def list_webhooks(org: Org) -> WebhookList:
        """The organisation's endpoints."""
        return WebhookList(webhooks=[WebhookOut.model_validate(e)
                                     for e in webhooks.endpoints(database, org)])

    @api.delete("/webhooks/{webhook_id}", status_code=204, tags=["webhooks"],
                responses={404: {"model": Problems}})
    def remove_webhook(org: Org, webhook_id: str) -> Response:
        """Stop sending to an endpoint (its undelivered events are dropped)."""
        if not webhooks.remove(database, org, webhook_id):
            raise ApiError(404, "no such webhook")
        return Response(status_code=204)

    @api.get("/webhooks/{webhook_id}/deliveries", response_model=DeliveryLog,
             tags=["webhooks"], responses={404: {"model": Problems}})
    def delivery_log(org: Org, webhook_id: str) -> DeliveryLog:
        """What was sent to an endpoint, and how it went."""
        found_log = webhooks.deliveries(database, org, webhook_id)
        if found_log is None:
            raise ApiError(404, "no such webhook")
        return DeliveryLog(deliveries=found_log)

    return api


def _calendars_router(database: Database, settings: Settings) -> Any:
    # Imported here: the calendars routes use this module's auth and errors.
    from app.operators.calendars_api import calendars_router

    return calendars_router(database, settings)


async def _bounded_body(request: Request) -> bytes:
    """The request body, refused (413) past :data:`MAX_BODY_BYTES` without reading it all."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ApiError(413, f"the body is over {MAX_BODY_BYTES} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise ApiError(413, f"the body is over {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
