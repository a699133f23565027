"""The call server: Twilio webhooks, the Media Streams WebSocket, health and metrics.

POST /twilio/voice answers a call with ``<Connect><Stream>`` to /twilio/media, passing the
campaign, the caller and a signed stream token; POST /twilio/status records Twilio's status
callbacks; /twilio/media admits only streams carrying a valid token for their call and
hands them to the phone pipeline. Every webhook must carry Twilio's signature over the
public URL, or it gets 403 and nothing happens.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from agent.campaign import Campaign
from prompts import line
from storage.database import Database
from telephony.call_records import record_call_started, record_status
from telephony.config import TwilioConfig
from telephony.metrics import ServerMetrics
from telephony.phone_pipeline import AdmittedCall
from telephony.signatures import (
    StreamTokens,
    public_request_url,
    valid_twilio_signature,
    websocket_url,
)
from telephony.twiml import connect_stream, decline

log = logging.getLogger(__name__)

MEDIA_PATH = "/twilio/media"
POLICY_VIOLATION = 1008  # WebSocket close code for a refused stream
START_TIMEOUT_SECONDS = 10.0


class ServerNotConfigured(ValueError):
    """A setting the call server cannot run without is missing."""


CallHandler = Callable[[WebSocket, AdmittedCall], Awaitable[None]]


class CampaignDirectory:
    """The campaigns this server answers for, chosen by dialled number or by name."""

    def __init__(self, campaigns: Sequence[Campaign]) -> None:
        if not campaigns:
            raise ServerNotConfigured("the call server needs at least one campaign")
        names = [c.name for c in campaigns]
        if len(set(names)) != len(names):
            raise ServerNotConfigured(f"campaign names must be unique: {names}")
        self.campaigns = list(campaigns)

    def for_number(self, dialled: str) -> Campaign | None:
        """The campaign answering ``dialled``; a lone campaign answers every number."""
        for campaign in self.campaigns:
            if dialled in campaign.phone_numbers:
                return campaign
        if len(self.campaigns) == 1:
            return self.campaigns[0]
        return None

    def by_name(self, name: str) -> Campaign | None:
        """The campaign called ``name``, or None."""
        return next((c for c in self.campaigns if c.name == name), None)


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
    background: Sequence[BackgroundTask] = (),
) -> FastAPI:
    """The call server's FastAPI app. ``handler`` runs the conversation on an admitted stream.

    ``background`` tasks (e.g. calendar-connection upkeep) run for the app's lifetime and are
    asked to stop through the event they are given when the server shuts down.
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

    app = FastAPI(title="booking-agent call server", lifespan=lifespan)
    app.state.metrics = metrics
    app.state.tokens = tokens
    app.state.twilio = twilio


    @app.post("/twilio/voice")
    async def voice(request: Request, params: TwilioForm) -> Response:
        call_sid = params.get("CallSid", "")
        outbound = params.get("Direction", "inbound").startswith("outbound")
        if outbound:
            campaign = campaigns.by_name(request.query_params.get("campaign", ""))
            caller, ours = params.get("To", ""), params.get("From", "")
        else:
            caller, ours = params.get("From", ""), params.get("To", "")
            campaign = campaigns.for_number(ours)
        xml = "application/xml"
        if campaign is None or not call_sid:
            metrics.rejected.labels("no_campaign").inc()
            return Response(decline(line("not_in_service")), media_type=xml)
        direction = "outbound" if outbound else "inbound"
        await asyncio.to_thread(
            record_call_started, database, call_sid, campaign=campaign.name,
            direction=direction, caller_number=caller, our_number=ours)
        metrics.calls.labels(direction).inc()
        parameters = {
            "campaign": campaign.name, "caller": caller, "direction": direction,
            "token": tokens.mint(call_sid, campaign.name, caller),
        }
        caller_name = request.query_params.get("name") if outbound else None
        if caller_name:
            parameters["caller_name"] = caller_name
        twiml = connect_stream(websocket_url(public_url, MEDIA_PATH), parameters)
        return Response(twiml, media_type=xml)

    @app.post("/twilio/status")
    async def status(params: TwilioForm) -> Response:
        call_status = params.get("CallStatus", "")
        duration = params.get("CallDuration")
        metrics.statuses.labels(call_status or "unknown").inc()
        await asyncio.to_thread(
            record_status, database, params.get("CallSid", ""), call_status,
            float(duration) if duration and duration.replace(".", "", 1).isdigit() else None)
        return Response(status_code=204)

    @app.websocket(MEDIA_PATH)
    async def media(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            start = await asyncio.wait_for(_read_start(websocket), START_TIMEOUT_SECONDS)
        except (TimeoutError, WebSocketDisconnect, ValueError):
            metrics.rejected.labels("stream_start").inc()
            await _close(websocket)
            return
        params = start.get("customParameters") or {}
        call_sid = start.get("callSid", "")
        campaign = campaigns.by_name(params.get("campaign", ""))
        caller = params.get("caller", "")
        admitted = campaign is not None and tokens.check(
            params.get("token"), call_sid, params.get("campaign", ""), caller)
        if not admitted or campaign is None:
            metrics.rejected.labels("stream_token").inc()
            log.warning("refused a media stream without a valid token (call %s)", call_sid)
            await _close(websocket)
            return
        call = AdmittedCall(
            call_sid=call_sid, stream_sid=start.get("streamSid", ""),
            account_sid=start.get("accountSid", ""), campaign=campaign, caller_number=caller,
            caller_name=params.get("caller_name"), direction=params.get("direction", "inbound"))
        metrics.active.inc()
        try:
            await handler(websocket, call)
        finally:
            metrics.active.dec()

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics")
    async def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app


async def _read_start(websocket: WebSocket) -> dict:
    """Twilio's ``start`` message (after ``connected``); the media stream begins after it."""
    for _ in range(3):
        message = json.loads(await websocket.receive_text())
        if message.get("event") == "start":
            return message.get("start") or {}
    raise ValueError("no start message")


async def _close(websocket: WebSocket) -> None:
    try:
        await websocket.close(code=POLICY_VIOLATION)
    except RuntimeError:
        pass  # already closed by the other side
