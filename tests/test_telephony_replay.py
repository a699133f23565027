"""Replays and junk at the call server's door: a captured webhook or stream token opens no
second session, and a malformed stream is closed with 1008 and one log line.

Everything runs against the real server on loopback, with real HTTP and WebSocket clients,
on both databases; the conversation handler "speaks" (sends agent audio) as soon as it is
given a stream, so "no agent audio" is what a refused stream hears.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import uuid
from collections.abc import Iterator

import httpx
import pytest
import websockets
from fastapi import WebSocket
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.sync.client import connect as connect_sync

from app.call_server import CampaignDirectory, create_app
from app.campaign_files import parse_campaign
from app.settings import Settings
from telephony.call_records import get_call, list_calls
from telephony.phone_pipeline import AdmittedCall
from telephony.signatures import twilio_signature
from tests.fakes.loopback import BackgroundServer, free_port
from tests.fakes.media_caller import MediaCaller
from tests.fakes.twilio_server import StreamInstruction, TwilioEmulator, parse_stream_twiml

SALES = parse_campaign({"name": "sales", "phone_numbers": ["+14155550100"]})
CALLER = "+12125550123"
AGENT_AUDIO = base64.b64encode(b"\x7f" * 160).decode()


class CallServer:
    """One call server on loopback whose conversation says one packet of audio at once."""

    def __init__(self, database, *, public_url: str | None = None,
                 twilio: TwilioEmulator | None = None, api_docs: bool = False) -> None:
        self.twilio = twilio or TwilioEmulator().start()
        self.port = free_port()
        self.local_url = f"http://127.0.0.1:{self.port}"
        self.public_url = public_url or self.local_url
        self.media_url = f"ws://127.0.0.1:{self.port}/twilio/media"
        self.database = database
        self.admitted: list[AdmittedCall] = []
        config = Settings(_env_file=None, public_url=self.public_url,
                            twilio_auth_token=self.twilio.auth_token,
                            twilio_account_sid=self.twilio.account_sid,
                            twilio_api_url=self.twilio.base_url)

        async def speak(websocket: WebSocket, call: AdmittedCall) -> None:
            self.admitted.append(call)
            await websocket.send_text(json.dumps({
                "event": "media", "streamSid": call.stream_sid,
                "media": {"payload": AGENT_AUDIO}}))
            while (await websocket.receive())["type"] != "websocket.disconnect":
                pass

        self.app = create_app(campaigns=CampaignDirectory([SALES]), twilio=config.twilio(),
                              database=database, handler=speak, api_docs=api_docs)
        self.server = BackgroundServer(self.app, self.port, "call-server").start()

    async def post_signed(self, path: str, params: dict[str, str]) -> httpx.Response:
        """POST ``params`` to ``path`` signed as Twilio signs it (over the public URL)."""
        signature = twilio_signature(self.twilio.auth_token, f"{self.public_url}{path}", params)
        async with httpx.AsyncClient() as client:
            return await client.post(f"{self.local_url}{path}", data=params,
                                     headers={"X-Twilio-Signature": signature})

    async def ring(self, sid: str | None = None) -> tuple[dict[str, str], StreamInstruction]:
        """Twilio's voice webhook for an inbound call: (its form, the stream it was given)."""
        form = {"AccountSid": self.twilio.account_sid,
                "CallSid": sid or "CA" + uuid.uuid4().hex, "From": CALLER,
                "To": "+14155550100", "Direction": "inbound", "CallStatus": "ringing"}
        response = await self.post_signed("/twilio/voice", form)
        assert response.status_code == 200
        stream = parse_stream_twiml(response.text)
        assert stream is not None
        return form, stream

    def caller(self, sid: str, stream: StreamInstruction) -> MediaCaller:
        """A caller opening the media stream ``stream`` names, on this server."""
        return MediaCaller(self.media_url, custom_parameters=stream.parameters, call_sid=sid,
                           account_sid=self.twilio.account_sid)

    def stop(self) -> None:
        self.server.stop()
        self.twilio.stop()


@pytest.fixture
def server(database) -> Iterator[CallServer]:
    s = CallServer(database)
    yield s
    s.stop()


async def _until_agent_speaks_or_closed(caller: MediaCaller, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if caller.received or caller.closed.is_set():
            return
        await asyncio.sleep(0.02)


async def _stream(server: CallServer, sid: str, stream: StreamInstruction) -> MediaCaller:
    """Open the stream, wait until it is refused or the agent speaks, then hang up."""
    async with server.caller(sid, stream) as caller:
        await _until_agent_speaks_or_closed(caller)
    return caller


def _rejected(server: CallServer, reason: str) -> float:
    metrics = httpx.get(f"{server.local_url}/metrics").text
    prefix = f'booking_agent_rejected_requests_total{{reason="{reason}"}} '
    line = next((m for m in metrics.splitlines() if m.startswith(prefix)), None)
    return float(line.removeprefix(prefix)) if line else 0.0


# --- one stream per call ----------------------------------------------------------------


async def test_replayed_voice_webhook_after_the_call_completed_gets_no_stream(server):
    form, stream = await server.ring()
    sid = form["CallSid"]
    assert len((await _stream(server, sid, stream)).received) == 1
    completed = {"CallSid": sid, "CallStatus": "completed", "CallDuration": "30"}
    assert (await server.post_signed("/twilio/status", completed)).status_code == 204

    replay = await server.post_signed("/twilio/voice", form)

    assert replay.status_code == 200
    assert parse_stream_twiml(replay.text) is None and "<Hangup" in replay.text
    assert _rejected(server, "replay") == 1.0


async def test_replayed_voice_webhook_after_the_stream_started_gets_no_stream(server):
    form, stream = await server.ring()
    async with server.caller(form["CallSid"], stream) as caller:
        await _until_agent_speaks_or_closed(caller)
        replay = await server.post_signed("/twilio/voice", form)
    assert parse_stream_twiml(replay.text) is None and "<Hangup" in replay.text
    assert len(server.admitted) == 1


async def test_completed_call_that_never_streamed_is_not_answered_again(server):
    form, _ = await server.ring()
    completed = {"CallSid": form["CallSid"], "CallStatus": "completed"}
    assert (await server.post_signed("/twilio/status", completed)).status_code == 204
    replay = await server.post_signed("/twilio/voice", form)
    assert parse_stream_twiml(replay.text) is None and "<Hangup" in replay.text


async def test_twilio_retrying_the_voice_webhook_before_the_stream_is_answered_again(server):
    form, first = await server.ring()
    sid = form["CallSid"]
    _, retry = await server.ring(sid)  # e.g. our first answer reached Twilio too late

    streamed = await _stream(server, sid, retry)
    after = await _stream(server, sid, first)

    assert len(streamed.received) == 1
    assert after.close_code == 1008 and after.received == []
    assert [c.call_sid for c in server.admitted] == [sid]


async def test_reused_token_after_the_call_completed_is_closed_without_agent_audio(server):
    form, stream = await server.ring()
    sid = form["CallSid"]
    first = await _stream(server, sid, stream)
    await server.post_signed("/twilio/status", {"CallSid": sid, "CallStatus": "completed"})

    reused = await _stream(server, sid, stream)

    assert len(first.received) == 1
    assert reused.close_code == 1008 and reused.received == [] and reused.marks == []
    assert len(server.admitted) == 1
    assert _rejected(server, "stream_replay") == 1.0


async def test_one_token_on_parallel_streams_lets_exactly_one_speak(server):
    form, stream = await server.ring()
    callers = await asyncio.gather(*(_stream(server, form["CallSid"], stream)
                                     for _ in range(8)))
    spoken = [c for c in callers if c.received]
    refused = [c for c in callers if c.close_code == 1008]
    assert len(spoken) == 1 and len(refused) == 7
    assert all(c.received == [] for c in refused)
    assert len(server.admitted) == 1


async def test_two_servers_on_one_database_start_one_stream_per_call(database):
    public = "https://calls.example.com"
    twilio = TwilioEmulator().start()
    a = CallServer(database, public_url=public, twilio=twilio)
    b = CallServer(database, public_url=public, twilio=twilio)
    try:
        form, on_a = await a.ring()
        _, on_b = await b.ring(form["CallSid"])  # the retry reaches the other server
        sid = form["CallSid"]
        streamed = await _stream(a, sid, on_a)
        refused = await _stream(b, sid, on_b)
        replay = await b.post_signed("/twilio/voice", form)
    finally:
        a.server.stop()
        b.stop()
    assert len(streamed.received) == 1
    assert refused.close_code == 1008 and refused.received == []
    assert parse_stream_twiml(replay.text) is None
    assert (len(a.admitted), len(b.admitted)) == (1, 0)


async def test_a_call_answered_by_one_server_streams_to_another_and_its_status_to_a_third(
        database):
    public = "https://calls.example.com"
    twilio = TwilioEmulator().start()
    servers = [CallServer(database, public_url=public, twilio=twilio) for _ in range(3)]
    a, b, c = servers
    try:
        form, stream = await a.ring()
        sid = form["CallSid"]
        streamed = await _stream(b, sid, stream)  # the load balancer chose another server
        ended = await c.post_signed("/twilio/status", {
            "AccountSid": twilio.account_sid, "CallSid": sid, "CallStatus": "completed",
            "CallDuration": "7"})
        replay = await a.post_signed("/twilio/voice", form)
    finally:
        for server in servers:
            server.server.stop()
        twilio.stop()
    assert len(streamed.received) == 1 and streamed.close_code != 1008
    assert (len(a.admitted), len(b.admitted), len(c.admitted)) == (0, 1, 0)
    assert ended.status_code == 204
    record = get_call(database, sid)
    assert record is not None and record.status == "completed"
    assert parse_stream_twiml(replay.text) is None  # every server knows the call ended


async def test_token_admits_its_stream_only_with_the_parameters_it_was_minted_with(server):
    sid = "CA" + uuid.uuid4().hex
    form = {"CallSid": sid, "From": "+14155550100", "To": CALLER, "Direction": "outbound-api"}
    answer = await server.post_signed("/twilio/voice?campaign=sales&name=Ada+Lovelace", form)
    stream = parse_stream_twiml(answer.text)
    assert stream is not None and stream.parameters["caller_name"] == "Ada Lovelace"
    tampered = StreamInstruction(stream.url, {**stream.parameters, "caller_name": "Eve"})

    refused = await _stream(server, sid, tampered)
    admitted = await _stream(server, sid, stream)

    assert refused.close_code == 1008 and refused.received == []
    assert len(admitted.received) == 1
    assert [(c.direction, c.caller_name, c.caller_number) for c in server.admitted] == [
        ("outbound", "Ada Lovelace", CALLER)]


# --- junk at the media socket -----------------------------------------------------------

ACCOUNT = "AC" + "0" * 32


def _start(call_sid: str, parameters: object, **start: object) -> dict[str, object]:
    stream_sid = "MZ" + uuid.uuid4().hex
    return {"event": "start", "sequenceNumber": "1", "streamSid": stream_sid,
            "start": {"accountSid": ACCOUNT, "streamSid": stream_sid, "callSid": call_sid,
                      "tracks": ["inbound"], "customParameters": parameters, **start}}


SOME_CALL = "CA" + "0" * 32
PARAMS = {"campaign": "sales", "caller": CALLER, "token": "1.x"}
# What each malformed opening sends; None: it closes without a word.
MALFORMED: dict[str, list[str | bytes] | None] = {
    "closes_before_start": None,
    "closes_after_connected": [json.dumps({"event": "connected"})],
    "json_array": ["[]"],
    "json_number": ["42"],
    "json_null": ["null"],
    "not_json": ["hello"],
    "string_start": [json.dumps({"event": "start", "start": SOME_CALL})],
    "list_custom_parameters": [json.dumps(_start(SOME_CALL, ["campaign", "sales"]))],
    "string_custom_parameters": [json.dumps(_start(SOME_CALL, "campaign=sales"))],
    "number_in_custom_parameters": [json.dumps(_start(SOME_CALL, {**PARAMS, "token": 1}))],
    "binary_frame": [b"\x00\x01binary"],
    "deeply_nested_json": ["[" * 5000 + "]" * 5000],
    "deeply_nested_start": [json.dumps(_start(SOME_CALL, PARAMS))[:-2]
                            + ', "x": ' + "{\"a\": " * 3000 + "1" + "}" * 3000 + "}}"],
    "missing_call_sid": [json.dumps({"event": "start", "start": {"accountSid": ACCOUNT}})],
    "missing_token": [json.dumps(_start(SOME_CALL, {"campaign": "sales", "caller": CALLER}))],
    "media_before_start": [json.dumps({"event": "media", "media": {"payload": AGENT_AUDIO}})],
    "two_connected": [json.dumps({"event": "connected"})] * 2,
    "huge_message": [json.dumps({"event": "connected", "pad": "x" * 100_000})],
    "bad_token": [json.dumps(_start(SOME_CALL, PARAMS))],
}


class LogRecords(logging.Handler):
    """Every record the server's loggers emit (uvicorn's do not propagate to the root)."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def tracebacks(self) -> list[logging.LogRecord]:
        return [r for r in self.records
                if r.exc_info or r.stack_info or "Traceback" in r.getMessage()]


@pytest.fixture
def server_log() -> Iterator[LogRecords]:
    handler = LogRecords()
    loggers = [logging.getLogger(), logging.getLogger("uvicorn")]
    for logger in loggers:
        logger.addHandler(handler)
    yield handler
    for logger in loggers:
        logger.removeHandler(handler)


# The cases where the client leaves on its own: there is no close code for it to receive.
CLIENT_LEAVES = {"closes_before_start", "closes_after_connected"}


async def _open_badly(url: str, case: str) -> int | None:
    """Open a media stream as ``case`` does; the close code the server sent, if any."""
    frames = MALFORMED[case] or []
    async with websockets.connect(url, max_size=None) as ws:
        for frame in frames:
            try:
                await ws.send(frame)
            except websockets.ConnectionClosed:
                break
        if case in CLIENT_LEAVES:
            return None
        try:
            await asyncio.wait_for(ws.recv(), 5)
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
    raise AssertionError("the server answered a malformed stream")


async def _log_settles(log: LogRecords, count: int) -> None:
    for _ in range(250):
        if len(log.records) >= count:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.1)  # and nothing more arrives


@pytest.mark.parametrize("case", sorted(MALFORMED))
async def test_malformed_stream_is_closed_1008_with_one_log_line(server, server_log, case):
    code = await _open_badly(server.media_url, case)
    await _log_settles(server_log, 1)
    assert case in CLIENT_LEAVES or code == 1008
    assert len(server_log.records) == 1, [r.getMessage() for r in server_log.records]
    assert server_log.tracebacks() == []
    assert server.admitted == []


async def test_flood_of_200_malformed_streams_logs_at_most_200_lines_and_no_traceback(
        server, server_log):
    cases = sorted(MALFORMED)
    plan = [cases[i % len(cases)] for i in range(200)]
    codes: list[int | None] = []
    for batch in range(0, 200, 20):
        codes += await asyncio.gather(*(_open_badly(server.media_url, case)
                                        for case in plan[batch:batch + 20]))
    await _log_settles(server_log, 200)
    assert len(server_log.records) <= 200
    assert server_log.tracebacks() == []
    assert server.admitted == []
    assert all(code == 1008 for case, code in zip(plan, codes, strict=True)
               if case not in CLIENT_LEAVES)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12)
NOT_A_STRING = st.none() | st.booleans() | st.integers() | st.lists(JSON, max_size=3) | \
    st.dictionaries(st.text(max_size=8), JSON, max_size=3)
# The fields a start message cannot do without, as paths into it.
REQUIRED = [("event",), ("start",), ("start", "accountSid"), ("start", "streamSid"),
            ("start", "callSid"), ("start", "customParameters"),
            ("start", "customParameters", "campaign"), ("start", "customParameters", "caller"),
            ("start", "customParameters", "token")]


@st.composite
def broken_starts(draw: st.DrawFn, genuine: dict) -> str:
    """The genuine start message with one required field removed or made a non-string."""
    message = json.loads(json.dumps(genuine))
    path = draw(st.sampled_from(REQUIRED))
    parent = message
    for key in path[:-1]:
        parent = parent[key]
    if draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(NOT_A_STRING)
    return json.dumps(message)


@pytest.fixture
def rung(server) -> tuple[CallServer, dict]:
    """The server, and the genuine start message for a call it has just answered."""
    form, stream = asyncio.run(server.ring())
    return server, _start(form["CallSid"], stream.parameters, accountSid=server.twilio.account_sid)


def _stream_started(database, sid: str) -> bool:
    from storage.call_tables import CallRow

    with database.session() as session:
        return session.get(CallRow, sid).stream_started_at is not None


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_malformed_opening_is_closed_cleanly_and_starts_nothing(rung, data):
    server, genuine = rung
    sid = genuine["start"]["callSid"]
    frame = data.draw(st.one_of(
        broken_starts(genuine), JSON.map(json.dumps), st.text(max_size=64),
        st.binary(max_size=64)))
    with connect_sync(server.media_url, max_size=None) as ws:
        for message in (frame, "{}"):  # the second refuses what a lone "connected" began
            try:
                ws.send(message)
            except websockets.ConnectionClosed:
                break
        with pytest.raises(websockets.ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert server.admitted == [] and not _stream_started(server.database, sid)


# --- the status webhook -----------------------------------------------------------------


async def test_status_duration_that_is_a_digit_but_no_number_is_refused_and_changes_nothing(
        server):
    form, _ = await server.ring()
    sid = form["CallSid"]
    response = await server.post_signed(
        "/twilio/status", {"CallSid": sid, "CallStatus": "completed", "CallDuration": "²"})
    record = get_call(server.database, sid)
    assert response.status_code == 400
    assert record.status == "in-progress" and record.duration_seconds is None


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(status=st.text(max_size=16) | st.sampled_from(["completed", "busy", "ringing"]),
       duration=st.none() | st.text(max_size=8) | st.integers().map(str),
       sid=st.none() | st.text(max_size=40),
       extra=st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=3))
def test_any_status_callback_is_recorded_or_refused_with_4xx(rung, status, duration, sid,
                                                           extra):
    server, genuine = rung
    call = genuine["start"]["callSid"]
    form = {**extra, "CallSid": call if sid is None else sid, "CallStatus": status}
    if duration is not None:
        form["CallDuration"] = duration
    before = get_call(server.database, call)
    response = asyncio.run(server.post_signed("/twilio/status", form))
    after = get_call(server.database, call)
    assert response.status_code in (204, 400)
    if response.status_code == 400:
        assert (after.status, after.duration_seconds, after.ended_at) == (
            before.status, before.duration_seconds, before.ended_at)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sid=st.text(max_size=40) | st.uuids().map(lambda u: "CA" + u.hex),
       caller=st.text(max_size=40), direction=st.text(max_size=40),
       extra=st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=3))
def test_any_voice_webhook_is_answered_or_refused_with_4xx(server, sid, caller, direction,
                                                          extra):
    form = {**extra, "CallSid": sid, "From": caller, "To": "+14155550100",
            "Direction": direction}
    before = list_calls(server.database)
    response = asyncio.run(server.post_signed("/twilio/voice", form))
    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert list_calls(server.database) == before


# --- the OpenAPI pages ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json"])
def test_api_docs_are_off_unless_a_setting_turns_them_on(database, path):
    off, on = CallServer(database), CallServer(database, api_docs=True)
    try:
        assert httpx.get(f"{off.local_url}{path}").status_code == 404
        assert httpx.get(f"{on.local_url}{path}").status_code == 200
    finally:
        off.stop()
        on.stop()


def test_api_docs_setting_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("BOOKING_AGENT_API_DOCS", "true")
    assert Settings(_env_file=None).api_docs is True
    monkeypatch.delenv("BOOKING_AGENT_API_DOCS")
    assert Settings(_env_file=None).api_docs is False
