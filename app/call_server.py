"""The call server: Twilio webhooks, the Media Streams WebSocket, health and metrics.

POST /twilio/voice answers a call with ``<Connect><Stream>`` to /twilio/media, passing the
campaign, the caller and a signed stream token; POST /twilio/status records Twilio's status
callbacks; /twilio/media admits only streams carrying a valid token for their call and
hands them to the phone pipeline. Every webhook must carry Twilio's signature over the
public URL, or it gets 403 and nothing happens.

Twilio's signatures carry no timestamp, so a captured webhook can be replayed forever: the
database remembers each call's progress, a call whose stream started or that ended is
answered with a hang-up, and a token starts at most one stream for its call. A stream that
opens with anything but Twilio's ``connected``/``start`` is closed with 1008 and one log
line.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Protocol

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, WebSocket
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from agent.campaign import Campaign
from prompts import line
from storage.database import Database
from telephony.call_records import answer_call, record_status, start_stream
from telephony.config import TwilioConfig
from telephony.dialling import answered_machine_or_human, note_dial_status
from telephony.metrics import ServerMetrics
from telephony.phone_pipeline import AdmittedCall
from telephony.signatures import (
    StreamTokens,
    public_request_url,
    valid_twilio_signature,
    websocket_url,
)
from telephony.twilio_payloads import (
    AmdCallback,
    PayloadInvalid,
    StartMessage,
    StatusCallback,
    StreamStart,
    VoiceWebhook,
    dial_reference,
    parse_form,
    parse_opening_message,
)
from telephony.twiml import connect_stream, decline, hang_up

log = logging.getLogger(__name__)

MEDIA_PATH = "/twilio/media"
POLICY_VIOLATION = 1008  # WebSocket close code for a refused stream
START_TIMEOUT_SECONDS = 10.0


class ServerNotConfigured(ValueError):
    """A setting the call server cannot run without is missing."""


CallHandler = Callable[[WebSocket, AdmittedCall], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Answering:
    """A campaign taking a call: ``key`` names it in the voice URL and the stream's
    parameters; ``organisation_id`` is set for an organisation's stored campaign."""

    key: str
    campaign: Campaign
    organisation_id: str | None = None


# Stored campaigns are named in URLs and stream parameters by id, never by name: two
# organisations may both have a "sales".
STORED_PREFIX = "stored:"


class CampaignDirectory:
    """The campaigns this server answers for: its campaign files and, with a database, the
    campaigns operators keep in it; chosen by dialled number or by key."""

    def __init__(self, campaigns: Sequence[Campaign],
                 stored: StoredCampaigns | None = None) -> None:
        if not campaigns and stored is None:
            raise ServerNotConfigured("the call server needs at least one campaign")
        names = [c.name for c in campaigns]
        if len(set(names)) != len(names):
            raise ServerNotConfigured(f"campaign names must be unique: {names}")
        self.campaigns = list(campaigns)
        self._stored = stored

    def for_number(self, dialled: str) -> Answering | None:
        """The campaign answering ``dialled``: a campaign file listing it, else an
        operator's campaign listing it, else a lone campaign file answers every number."""
        for campaign in self.campaigns:
            if dialled in campaign.phone_numbers:
                return Answering(campaign.name, campaign)
        if self._stored is not None:
            found = self._stored.answering(dialled)
            if found is not None:
                return self._of_stored(*found)
        if len(self.campaigns) == 1:
            return Answering(self.campaigns[0].name, self.campaigns[0])
        return None

    def by_key(self, key: str, organisation_id: str | None = None) -> Answering | None:
        """The campaign ``key`` names: a file campaign's name, ``stored:<id>``, or with
        ``organisation_id`` the name of that organisation's stored campaign (the dialler's
        calls name it so)."""
        if organisation_id is not None:
            if self._stored is None:
                return None
            found = self._stored.named(organisation_id, key)
            return self._of_stored(*found) if found is not None else None
        if key.startswith(STORED_PREFIX):
            if self._stored is None:
                return None
            found = self._stored.by_id(key.removeprefix(STORED_PREFIX))
            return self._of_stored(*found) if found is not None else None
        campaign = next((c for c in self.campaigns if c.name == key), None)
        return Answering(key, campaign) if campaign is not None else None

    @staticmethod
    def _of_stored(campaign_id: str, campaign: Campaign, organisation_id: str) -> Answering:
        return Answering(STORED_PREFIX + campaign_id, campaign, organisation_id)


class StoredCampaigns(Protocol):
    """Operators' campaigns as the call server looks them up (each as its id, the campaign
    as its organisation runs it, and the organisation's id)."""

    def answering(self, dialled: str) -> tuple[str, Campaign, str] | None:
        """The stored campaign listing ``dialled`` among its phone numbers."""

    def by_id(self, campaign_id: str) -> tuple[str, Campaign, str] | None:
        """The stored campaign with this id."""

    def named(self, organisation_id: str, name: str) -> tuple[str, Campaign, str] | None:
        """The organisation's stored campaign called ``name``."""


BackgroundTask = Callable[[asyncio.Event], Awaitable[None]]


async def signed_form(request: Request) -> dict[str, str]:
    """A webhook's form, once Twilio's signature over the public URL checks out (else 403)."""
    twilio: TwilioConfig = request.app.state.twilio
    form = await request.form()
    params = {key: str(value) for key, value in form.items()}
    url = public_request_url(twilio.public_url or "", request.url.path, request.url.query)
    token = twilio.auth_token.get_secret_value() if twilio.auth_token else ""
    if token and valid_twilio_signature(token, url, params,
                                        request.headers.get("X-Twilio-Signature")):
        return params
    request.app.state.metrics.rejected.labels("signature").inc()
    log.warning("refused an unsigned or forged request to %s", request.url.path)
    raise HTTPException(status_code=403, detail="forbidden")


# Every Twilio webhook takes its form through this one check.
TwilioForm = Annotated[dict[str, str], Depends(signed_form)]


def create_app(
    *, campaigns: CampaignDirectory, twilio: TwilioConfig, database: Database,
    handler: CallHandler, metrics: ServerMetrics | None = None,
    background: Sequence[BackgroundTask] = (), api_docs: bool = False,
    routers: Sequence[APIRouter] = (),
) -> FastAPI:
    """The call server's FastAPI app. ``handler`` runs the conversation on an admitted stream.

    ``background`` tasks (e.g. calendar-connection upkeep) run for the app's lifetime and are
    asked to stop through the event they are given when the server shuts down. ``api_docs``
    serves /docs, /redoc and /openapi.json: off by default, a public call server has no
    business describing itself to whoever asks. ``routers`` add routes of their own (e.g.
    Graph's change notifications).
    """
    if not twilio.public_url:
        raise ServerNotConfigured(
            "set BOOKING_AGENT_PUBLIC_URL to the https base URL Twilio reaches this server at")
    if twilio.auth_token is None:
        raise ServerNotConfigured(
            "set BOOKING_AGENT_TWILIO_AUTH_TOKEN so Twilio's webhooks can be verified")
    public_url = twilio.public_url
    auth_token = twilio.auth_token.get_secret_value()
    tokens = StreamTokens(auth_token)
    metrics = metrics or ServerMetrics()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        tasks = [asyncio.create_task(task(stop)) for task in background]
        try:
            yield
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)

    docs = {} if api_docs else {"docs_url": None, "redoc_url": None, "openapi_url": None}
    app = FastAPI(title="booking-agent call server", lifespan=lifespan, **docs)
    app.state.metrics = metrics
    app.state.tokens = tokens
    app.state.twilio = twilio
    for router in routers:
        app.include_router(router)

    @app.post("/twilio/voice")
    async def voice(request: Request, form: TwilioForm) -> Response:
        xml = "application/xml"
        try:
            params = parse_form(VoiceWebhook, form)
        except PayloadInvalid as exc:
            metrics.rejected.labels("webhook_form").inc()
            log.warning("refused a voice webhook: %s", exc.reason)
            return Response(status_code=400)
        call_sid = params.call_sid
        if params.outbound:
            # The voice URL is ours, signed over by Twilio: its parameters are not forged.
            answering = await asyncio.to_thread(
                campaigns.by_key, request.query_params.get("campaign", ""),
                request.query_params.get("organisation"))
            caller, ours = params.to_number, params.from_number
        else:
            caller, ours = params.from_number, params.to_number
            answering = await asyncio.to_thread(campaigns.for_number, ours)
        if answering is None:
            metrics.rejected.labels("no_campaign").inc()
            return Response(decline(line("not_in_service")), media_type=xml)
        direction = "outbound" if params.outbound else "inbound"
        answered = await asyncio.to_thread(
            answer_call, database, call_sid, campaign=answering.campaign.name,
            direction=direction, caller_number=caller, our_number=ours,
            organisation_id=answering.organisation_id)
        if not answered:
            # Its stream has started or it has ended: a replay, never a second stream.
            metrics.rejected.labels("replay").inc()
            log.warning("refused a voice webhook for call %s: already streamed or ended",
                        call_sid)
            return Response(hang_up(), media_type=xml)
        metrics.calls.labels(direction).inc()
        parameters = {"campaign": answering.key, "caller": caller, "direction": direction}
        caller_name = request.query_params.get("name") if params.outbound else None
        if caller_name:
            parameters["caller_name"] = caller_name
        parameters["token"] = tokens.mint(call_sid, parameters)
        twiml = connect_stream(websocket_url(public_url, MEDIA_PATH), parameters)
        return Response(twiml, media_type=xml)

    @app.post("/twilio/status")
    async def status(request: Request, form: TwilioForm) -> Response:
        try:
            params = parse_form(StatusCallback, form)
        except PayloadInvalid as exc:
            metrics.rejected.labels("webhook_form").inc()
            log.warning("refused a status callback: %s", exc.reason)
            return Response(status_code=400)
        metrics.statuses.labels(params.call_status).inc()
        await asyncio.to_thread(
            record_status, database, params.call_sid, params.call_status,
            params.duration_seconds)
        # A call of the dialling queue: its job learns the call is ringing, or how it ended.
        await asyncio.to_thread(note_dial_status, database, params.call_sid, params.call_status,
                                dial_reference(dict(request.query_params)))
        return Response(status_code=204)

    @app.post("/twilio/amd")
    async def amd(request: Request, form: TwilioForm) -> Response:
        try:
            params = parse_form(AmdCallback, form)
        except PayloadInvalid as exc:
            metrics.rejected.labels("webhook_form").inc()
            log.warning("refused an answering-machine callback: %s", exc.reason)
            return Response(status_code=400)
        action = await asyncio.to_thread(
            answered_machine_or_human, database, twilio, params.call_sid, params.answered_by,
            dial_reference(dict(request.query_params)))
        metrics.answered_by.labels(action).inc()
        return Response(status_code=204)

    @app.websocket(MEDIA_PATH)
    async def media(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            start = await asyncio.wait_for(_read_start(websocket), START_TIMEOUT_SECONDS)
            call = await _admit(start)
        except StreamRefused as exc:
            metrics.rejected.labels(exc.metric).inc()
            log.warning("refused a media stream: %s", exc.reason)
            await _close(websocket, exc.client_gone)
            return
        except TimeoutError:
            metrics.rejected.labels("stream_start").inc()
            log.warning("refused a media stream: no start within %.0f s", START_TIMEOUT_SECONDS)
            await _close(websocket)
            return
        metrics.active.inc()
        try:
            await handler(websocket, call)
        finally:
            metrics.active.dec()

    async def _admit(start: StreamStart) -> AdmittedCall:
        params = start.custom_parameters
        signed = params.model_dump(exclude={"token"}, exclude_none=True)
        if not tokens.check(params.token, start.call_sid, signed):
            raise StreamRefused("stream_token", f"no valid token for call {start.call_sid}")
        # The token proves this server named the campaign; it may since have been deleted.
        answering = await asyncio.to_thread(campaigns.by_key, params.campaign)
        if answering is None:
            raise StreamRefused("stream_campaign", f"call {start.call_sid}'s campaign is gone")
        # The token is good; the database lets it start a stream once, and only while
        # the call has not ended.
        if not await asyncio.to_thread(start_stream, database, start.call_sid):
            raise StreamRefused(
                "stream_replay", f"call {start.call_sid} already streamed or ended")
        return AdmittedCall(
            call_sid=start.call_sid, stream_sid=start.stream_sid,
            account_sid=start.account_sid, campaign=answering.campaign,
            caller_number=params.caller, caller_name=params.caller_name,
            direction=params.direction, organisation_id=answering.organisation_id)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics")
    async def prometheus() -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return app


class StreamRefused(Exception):
    """A media stream the server will not admit: ``reason`` is its one log line."""

    def __init__(self, metric: str, reason: str, *, client_gone: bool = False) -> None:
        super().__init__(reason)
        self.metric = metric
        self.reason = reason
        self.client_gone = client_gone


async def _read_start(websocket: WebSocket) -> StreamStart:
    """Twilio's ``start`` message, after at most one ``connected``; anything else refuses.

    Frames are taken raw (``receive``, not ``receive_text``), so a binary frame or a
    client that leaves is a refusal like any other, not an exception from the framework.
    """
    connected = False
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise StreamRefused("stream_start", "closed before start", client_gone=True)
        text = message.get("text")
        if text is None:
            raise StreamRefused("stream_start", "binary frame before start")
        try:
            opening = parse_opening_message(text)
        except PayloadInvalid as exc:
            raise StreamRefused("stream_start", exc.reason) from None
        if isinstance(opening, StartMessage):
            return opening.start
        if connected:
            raise StreamRefused("stream_start", "second connected message before start")
        connected = True


async def _close(websocket: WebSocket, client_gone: bool = False) -> None:
    """Close a refused stream with 1008 (policy violation), unless the client already left."""
    if client_gone:
        return
    try:
        await websocket.close(code=POLICY_VIOLATION)
    except (RuntimeError, OSError):
        pass  # the client left while we were deciding
