"""The call server's front door: signed webhooks, TwiML, stream tokens, status callbacks."""

from __future__ import annotations

import asyncio
import json
import threading

import httpx
import pytest
import websockets
from fastapi import WebSocket

from app.call_server import CampaignDirectory, create_app
from app.campaign_files import parse_campaign
from app.settings import Settings
from telephony.call_records import get_call
from telephony.phone_pipeline import AdmittedCall
from telephony.signatures import StreamTokens, twilio_signature
from tests.fakes.loopback import BackgroundServer, free_port
from tests.fakes.media_caller import MediaCaller
from tests.fakes.twilio_server import TwilioEmulator, parse_stream_twiml

SALES = parse_campaign({"name": "sales", "phone_numbers": ["+14155550100"]})
SUPPORT = parse_campaign({"name": "support", "phone_numbers": ["+14155550199"]})
CALLER = "+12125550123"


class Harness:
    """A call server on loopback whose conversation handler just records who got in."""

    def __init__(self, database, *, public_url: str | None = None) -> None:
        self.twilio = TwilioEmulator().start()
        self.port = free_port()
        self.local_url = f"http://127.0.0.1:{self.port}"
        self.public_url = public_url or self.local_url
        self.admitted: list[AdmittedCall] = []
        settings = Settings(public_url=self.public_url, twilio_auth_token=self.twilio.auth_token,
                            twilio_account_sid=self.twilio.account_sid,
                            twilio_api_url=self.twilio.base_url)
        self.database = database

        async def handler(websocket: WebSocket, call: AdmittedCall) -> None:
            self.admitted.append(call)
            await websocket.send_text(json.dumps({"event": "mark", "streamSid": call.stream_sid,
                                                  "mark": {"name": "admitted"}}))
            await websocket.receive_text()  # until the caller sends anything back

        self.app = create_app(
            campaigns=CampaignDirectory([SALES, SUPPORT]), twilio=settings.twilio(),
            database=database, handler=handler)
        self.server = BackgroundServer(self.app, self.port, "call-server").start()

    def stop(self) -> None:
        self.server.stop()
        self.twilio.stop()


@pytest.fixture
def harness(database):
    h = Harness(database)
    yield h
    h.stop()


async def test_inbound_call_is_answered_with_a_stream_for_the_dialled_campaign(harness):
    sid, twiml, status = await harness.twilio.ring("+14155550199", CALLER,
                                                   f"{harness.local_url}/twilio/voice")
    assert status == 200
    stream = parse_stream_twiml(twiml)
    assert stream is not None
    assert stream.url == f"ws://127.0.0.1:{harness.port}/twilio/media"
    assert stream.parameters["campaign"] == "support"
    assert stream.parameters["caller"] == CALLER
    record = get_call(harness.database, sid)
    assert record is not None and record.campaign == "support" and record.direction == "inbound"


async def test_stream_with_the_token_from_the_twiml_reaches_the_conversation(harness):
    sid, twiml, _ = await harness.twilio.ring("+14155550100", CALLER,
                                              f"{harness.local_url}/twilio/voice")
    stream = parse_stream_twiml(twiml)
    async with MediaCaller(stream.url, custom_parameters=stream.parameters,
                           call_sid=sid) as caller:
        for _ in range(100):
            if caller.marks:
                break
            await asyncio.sleep(0.02)
    assert caller.marks == ["admitted"]
    assert [(c.call_sid, c.campaign.name, c.caller_number) for c in harness.admitted] == [
        (sid, "sales", CALLER)]


async def test_forged_webhook_gets_403_and_nothing_happens(harness):
    params = {"CallSid": "CA" + "f" * 32, "From": CALLER, "To": "+14155550100",
              "Direction": "inbound"}
    url = f"{harness.local_url}/twilio/voice"
    async with httpx.AsyncClient() as client:
        forged = await client.post(url, data=params, headers={
            "X-Twilio-Signature": twilio_signature("not-the-token", url, params)})
        unsigned = await client.post(url, data=params)
        status = await client.post(f"{harness.local_url}/twilio/status",
                                   data={**params, "CallStatus": "completed"})
    assert (forged.status_code, unsigned.status_code, status.status_code) == (403, 403, 403)
    assert get_call(harness.database, params["CallSid"]) is None
    metrics = httpx.get(f"{harness.local_url}/metrics").text
    assert 'booking_agent_rejected_requests_total{reason="signature"} 3.0' in metrics


@pytest.mark.parametrize("token", [None, "", "9999999999.bad", "garbage"])
async def test_stream_without_a_valid_token_is_closed(harness, token):
    params = {"campaign": "sales", "caller": CALLER}
    if token is not None:
        params["token"] = token
    async with MediaCaller(f"ws://127.0.0.1:{harness.port}/twilio/media",
                           custom_parameters=params) as caller:
        await asyncio.wait_for(caller.closed.wait(), 5)
    assert caller.close_code == 1008 and harness.admitted == [] and caller.marks == []


async def test_token_for_another_call_does_not_open_this_one(harness):
    sid, twiml, _ = await harness.twilio.ring("+14155550100", CALLER,
                                              f"{harness.local_url}/twilio/voice")
    stream = parse_stream_twiml(twiml)
    async with MediaCaller(stream.url, custom_parameters=stream.parameters) as caller:
        await asyncio.wait_for(caller.closed.wait(), 5)  # a fresh CallSid, not ``sid``
    assert caller.close_code == 1008 and harness.admitted == []


def test_stream_token_expires_and_binds_the_call_and_every_parameter():
    tokens = StreamTokens("secret", lifetime_seconds=60)
    params = {"campaign": "sales", "caller": CALLER, "direction": "inbound"}
    token = tokens.mint("CA1", params, now=1000.0)
    assert tokens.check(token, "CA1", params, now=1059.0)
    assert not tokens.check(token, "CA1", params, now=1061.0)
    assert not tokens.check(token, "CA2", params, now=1000.0)
    assert not tokens.check(token, "CA1", {**params, "campaign": "support"}, now=1000.0)
    assert not tokens.check(token, "CA1", {**params, "direction": "outbound"}, now=1000.0)
    assert not tokens.check(token, "CA1", {**params, "caller_name": "Eve"}, now=1000.0)
    assert not StreamTokens("other").check(token, "CA1", params, now=1000.0)


async def test_signature_is_checked_against_the_public_url_behind_a_proxy(database):
    h = Harness(database, public_url="https://calls.example.com/agent")
    try:
        params = {"CallSid": "CA" + "a" * 32, "From": CALLER, "To": "+14155550100",
                  "Direction": "inbound"}
        public = "https://calls.example.com/agent/twilio/voice"
        local = f"{h.local_url}/twilio/voice"
        async with httpx.AsyncClient() as client:
            via_proxy = await client.post(local, data=params, headers={
                "X-Twilio-Signature": twilio_signature(h.twilio.auth_token, public, params)})
            local_signed = await client.post(local, data=params, headers={
                "X-Twilio-Signature": twilio_signature(h.twilio.auth_token, local, params)})
        assert via_proxy.status_code == 200 and local_signed.status_code == 403
        stream = parse_stream_twiml(via_proxy.text)
        assert stream.url == "wss://calls.example.com/agent/twilio/media"
    finally:
        h.stop()


async def test_status_callbacks_update_the_call_record_and_final_status_sticks(harness):
    sid, _, _ = await harness.twilio.ring("+14155550100", CALLER,
                                          f"{harness.local_url}/twilio/voice")
    url = f"{harness.local_url}/twilio/status"

    async def callback(status: str, **extra: str) -> int:
        params = {"CallSid": sid, "CallStatus": status, **extra}
        async with httpx.AsyncClient() as client:
            response = await client.post(url, data=params, headers={
                "X-Twilio-Signature": twilio_signature(harness.twilio.auth_token, url, params)})
        return response.status_code

    assert await callback("completed", CallDuration="42") == 204
    assert await callback("in-progress") == 204  # late and out of order
    record = get_call(harness.database, sid)
    assert record.status == "completed" and record.duration_seconds == 42.0


async def test_unknown_number_is_declined_when_several_campaigns_run(harness):
    _, twiml, status = await harness.twilio.ring("+14155550111", CALLER,
                                                 f"{harness.local_url}/twilio/voice")
    assert status == 200 and parse_stream_twiml(twiml) is None and "<Hangup" in twiml


def test_health_check(harness):
    assert httpx.get(f"{harness.local_url}/healthz").json() == {"status": "ok"}


async def test_media_socket_refuses_a_client_that_sends_no_start(harness):
    async with websockets.connect(f"ws://127.0.0.1:{harness.port}/twilio/media") as ws:
        await ws.send(json.dumps({"event": "media"}))
        await ws.send(json.dumps({"event": "media"}))
        await ws.send(json.dumps({"event": "media"}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd.code == 1008


def test_background_upkeep_runs_while_the_server_runs_and_stops_with_it(database):
    started, stopped = threading.Event(), threading.Event()

    async def upkeep(stop: asyncio.Event) -> None:
        started.set()
        await stop.wait()
        stopped.set()

    twilio = TwilioEmulator().start()
    port = free_port()
    settings = Settings(public_url=f"http://127.0.0.1:{port}",
                        twilio_auth_token=twilio.auth_token,
                        twilio_account_sid=twilio.account_sid, twilio_api_url=twilio.base_url)

    async def handler(websocket: WebSocket, call: AdmittedCall) -> None:
        await websocket.close()

    app = create_app(campaigns=CampaignDirectory([SALES]), twilio=settings.twilio(),
                     database=database,
                     handler=handler, background=[upkeep])
    server = BackgroundServer(app, port, "call-server", lifespan=True).start()
    try:
        assert started.wait(5)
        assert not stopped.is_set()
    finally:
        server.stop()
        twilio.stop()
    assert stopped.wait(5)
