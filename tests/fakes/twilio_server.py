"""A Twilio REST emulator on 127.0.0.1, for the real ``twilio`` client and pipecat's hang-up.

It speaks the 2010-04-01 Calls API (create, update, fetch) and the account fetch with Basic
auth, and plays the telephone network's part: an outbound call "rings" and is answered,
Twilio's signed status callbacks go to ``StatusCallback``, the voice webhook (``Url``) is
fetched signed for its TwiML, and a hang-up (``Status=completed``) ends the call with a
``completed`` callback. Each number can behave as a person, a busy line, no answer, a failed
call or an answering machine (``behaviours``); calls asking for asynchronous answering-machine
detection get Twilio's signed ``AnsweredBy`` verdict (``human`` / ``machine_end_beep``), and a
machine "records" the TwiML the server updates the call with. Inbound calls are started by
the test with :meth:`TwilioEmulator.ring`. Tests then open the media stream the TwiML names
with ``tests.fakes.media_caller``.
"""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from telephony.signatures import twilio_signature
from tests.fakes.loopback import BackgroundServer

API = "/2010-04-01/Accounts/{account}"


@dataclass
class StreamInstruction:
    """What a ``<Connect><Stream>`` TwiML told Twilio to open."""

    url: str
    parameters: dict[str, str]


def parse_stream_twiml(twiml: str) -> StreamInstruction | None:
    """The stream URL and parameters in a TwiML answer, or None if it opens no stream."""
    root = ET.fromstring(twiml)
    stream = root.find("./Connect/Stream")
    if stream is None:
        return None
    parameters = {p.get("name", ""): p.get("value", "") for p in stream.findall("Parameter")}
    return StreamInstruction(url=stream.get("url", ""), parameters=parameters)


@dataclass
class EmulatedCall:
    """One call as the emulator holds it."""

    sid: str
    to: str
    from_: str
    direction: str  # "inbound" or "outbound-api"
    status: str = "queued"
    url: str | None = None
    twiml: str | None = None
    status_callback: str | None = None
    status_events: list[str] = field(default_factory=list)
    answered_at: float | None = None
    answer_twiml: str | None = None
    answered: asyncio.Event | None = None
    updates: list[dict[str, str]] = field(default_factory=list)
    amd_callback: str | None = None  # AsyncAmdStatusCallback, when detection was asked for
    answered_by: str | None = None  # the verdict posted to it
    created_wall: float = field(default_factory=time.time)
    ended_wall: float | None = None  # when the call reached a final status

    def resource(self, account: str) -> dict[str, Any]:
        duration = (
            str(int(time.monotonic() - self.answered_at))
            if self.answered_at is not None and self.status == "completed" else None
        )
        now = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
        return {
            "sid": self.sid, "account_sid": account, "to": self.to, "from": self.from_,
            "status": self.status, "direction": self.direction, "duration": duration,
            "date_created": now, "date_updated": now, "api_version": "2010-04-01",
            "uri": f"{API.format(account=account)}/Calls/{self.sid}.json",
        }


class TwilioEmulator:
    """Twilio's Calls API and network behaviour for one account, on ``base_url``."""

    def __init__(self, account_sid: str = "AC" + "1" * 32, auth_token: str = "test-auth-token",
                 *, answer: str = "answer") -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.answer = answer  # "answer", "busy" or "no-answer" for outbound calls
        # Per called number: "answer", "machine", "busy", "no-answer" or "failed".
        self.behaviours: dict[str, str] = {}
        # Answered calls end (``completed``) this long after answering; None: when hung up.
        self.hang_up_after: float | None = None
        # (wall-clock time, To) of every authorised Calls create, refused or not: the rate
        # Twilio counts against the account's calls-per-second limit.
        self.create_times: list[tuple[float, str]] = []
        self.invalid_numbers: set[str] = set()  # To numbers Twilio refuses (error 21211)
        # While set, every Calls create answers this status as Twilio does in an outage
        # (500/503, error 20500) or when over its rate limit (429, error 20429).
        self.create_fails_with: int | None = None
        self.account_status = "active"  # or "suspended" / "closed"
        self.calls: dict[str, EmulatedCall] = {}
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        self.callback_responses: list[tuple[str, int]] = []
        self.server = BackgroundServer(self._app(), name="twilio-emulator")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._http: dict[asyncio.AbstractEventLoop, httpx.AsyncClient] = {}

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def start(self) -> TwilioEmulator:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def hangups(self) -> list[str]:
        """Sids of the calls the agent hung up through the REST API."""
        return [c.sid for c in self.calls.values()
                if any(u.get("Status") == "completed" for u in c.updates)]

    # --- the network's side -------------------------------------------------------------
    async def _signed_post(self, url: str, params: dict[str, str]) -> httpx.Response | None:
        headers = {"X-Twilio-Signature": twilio_signature(self.auth_token, url, params)}
        # One client per event loop (the emulator's, or a test's ringing an inbound call): a
        # new one per request costs more CPU than the request, which a busy benchmark feels.
        loop = asyncio.get_running_loop()
        client = self._http.get(loop)
        if client is None:
            client = self._http[loop] = httpx.AsyncClient(timeout=10)
        try:
            response = await client.post(url, data=params, headers=headers)
        except httpx.HTTPError:
            # As at Twilio, a callback the server did not take is lost; the call goes on.
            self.callback_responses.append((url, 0))
            return None
        self.callback_responses.append((url, response.status_code))
        return response

    def _call_params(self, call: EmulatedCall) -> dict[str, str]:
        return {"AccountSid": self.account_sid, "CallSid": call.sid, "From": call.from_,
                "To": call.to, "Direction": call.direction, "ApiVersion": "2010-04-01",
                "CallStatus": call.status}

    async def _status(self, call: EmulatedCall, status: str, event: str) -> None:
        call.status = status
        if status in ("completed", "busy", "no-answer", "failed", "canceled"):
            call.ended_wall = call.ended_wall or time.time()
        if call.status_callback and (not call.status_events or event in call.status_events):
            params = self._call_params(call)
            if status == "completed" and call.answered_at is not None:
                params["CallDuration"] = str(int(time.monotonic() - call.answered_at))
            await self._signed_post(call.status_callback, params)

    async def _answer(self, call: EmulatedCall, voice_url: str) -> None:
        call.status = "in-progress"
        call.answered_at = time.monotonic()
        response = await self._signed_post(voice_url, self._call_params(call))
        call.answer_twiml = response.text if response and response.status_code == 200 else None
        assert call.answered is not None
        call.answered.set()

    async def _dial(self, call: EmulatedCall) -> None:
        behaviour = self.behaviours.get(call.to, self.answer)
        await self._status(call, "initiated", "initiated")
        await self._status(call, "ringing", "ringing")
        if behaviour not in ("answer", "machine"):
            await self._status(call, behaviour, "completed")
            assert call.answered is not None
            call.answered.set()
            return
        await self._status(call, "in-progress", "answered")
        if call.url:
            await self._answer(call, call.url)
        else:
            call.answer_twiml = call.twiml
            call.answered_at = time.monotonic()
            assert call.answered is not None
            call.answered.set()
        if call.amd_callback:
            # DetectMessageEnd: a machine's verdict comes once its greeting ended (the beep).
            call.answered_by = "machine_end_beep" if behaviour == "machine" else "human"
            params = {**self._call_params(call), "AnsweredBy": call.answered_by,
                      "MachineDetectionDuration": "1200"}
            await self._signed_post(call.amd_callback, params)
        if self.hang_up_after is not None:
            await asyncio.sleep(self.hang_up_after)
            await self._end(call)

    async def _end(self, call: EmulatedCall) -> None:
        if call.status != "completed":
            await self._status(call, "completed", "completed")

    def spans(self) -> list[tuple[str, float, float | None]]:
        """(number, created, ended) of every outbound call, wall-clock seconds."""
        return [(c.to, c.created_wall, c.ended_wall) for c in self.calls.values()
                if c.direction == "outbound-api"]

    def overlapping_calls(self) -> dict[str, int]:
        """Numbers that were in two calls at once, with how many such overlaps."""
        return overlapping_calls(self.spans())

    def max_calls_per_second(self) -> int:
        """The most Calls creates in any one-second window (``[t, t+1)``)."""
        return max_calls_per_second([t for t, _ in self.create_times])

    async def ring(self, to: str, from_: str, voice_url: str) -> tuple[str, str, int]:
        """An inbound call to ``to``: POST the signed voice webhook; (sid, TwiML, status)."""
        call = EmulatedCall(sid="CA" + uuid.uuid4().hex, to=to, from_=from_,
                            direction="inbound", status="ringing")
        call.answered = asyncio.Event()
        self.calls[call.sid] = call
        call.answered_at = time.monotonic()
        response = await self._signed_post(voice_url, self._call_params(call))
        assert response is not None, "the call server did not take the voice webhook"
        call.answer_twiml = response.text
        call.status = "in-progress"
        return call.sid, response.text, response.status_code

    async def answered(self, sid: str, timeout: float = 10.0) -> str | None:
        """Wait until an outbound call is answered (or not); its TwiML, or None."""
        call = self.calls[sid]
        assert call.answered is not None
        await asyncio.wait_for(_wait_threadsafe(call.answered), timeout)
        return call.answer_twiml

    # --- the REST API -------------------------------------------------------------------
    def _authorised(self, request: Request, account: str) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return account == self.account_sid and \
            request.headers.get("Authorization") == f"Basic {expected}"

    def _app(self) -> FastAPI:
        app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

        def error(status: int, code: int, message: str) -> JSONResponse:
            return JSONResponse({"code": code, "message": message, "status": status,
                                 "more_info": f"https://www.twilio.com/docs/errors/{code}"},
                                status_code=status)

        # The test's side, for an emulator in a process of its own (see __main__ below).
        @app.post("/_emulator/config")
        async def configure(request: Request) -> JSONResponse:
            body = await request.json()
            self.behaviours.update(body.get("behaviours", {}))
            self.invalid_numbers.update(body.get("invalid_numbers", []))
            if "hang_up_after" in body:
                self.hang_up_after = body["hang_up_after"]
            return JSONResponse({"ok": True})

        @app.get("/_emulator/stats")
        async def stats() -> JSONResponse:
            return JSONResponse({"create_times": self.create_times, "spans": self.spans()})

        @app.get(API + ".json")
        async def account_fetch(account: str, request: Request) -> JSONResponse:
            if not self._authorised(request, account):
                return error(401, 20003, "Authenticate")
            self.requests.append(("account", account, {}))
            now = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
            return JSONResponse({
                "sid": account, "friendly_name": "Emulated account", "status":
                self.account_status, "type": "Full", "owner_account_sid": account,
                "date_created": now, "date_updated": now,
                "uri": f"{API.format(account=account)}.json",
            })

        @app.post(API + "/Calls.json")
        async def create(account: str, request: Request) -> JSONResponse:
            if not self._authorised(request, account):
                return error(401, 20003, "Authenticate")
            form = await request.form()
            self.requests.append(("create", "", dict(form)))
            self.create_times.append((time.time(), str(form.get("To", ""))))
            if self.create_fails_with == 429:
                return error(429, 20429, "Too Many Requests")
            if self.create_fails_with is not None:
                return error(self.create_fails_with, 20500, "Internal Server Error")
            if not form.get("To") or not form.get("From"):
                return error(400, 21201, "To and From are required")
            if form.get("To") in self.invalid_numbers:
                return error(400, 21211, f"Invalid 'To' Phone Number: {form['To']}")
            if not form.get("Url") and not form.get("Twiml"):
                return error(400, 21205, "Url or Twiml is required")
            call = EmulatedCall(
                sid="CA" + uuid.uuid4().hex, to=str(form["To"]), from_=str(form["From"]),
                direction="outbound-api", url=form.get("Url"), twiml=form.get("Twiml"),
                status_callback=form.get("StatusCallback"),
                status_events=[str(v) for v in form.getlist("StatusCallbackEvent")],
            )
            if form.get("AsyncAmd") == "true" and form.get("MachineDetection"):
                call.amd_callback = str(form.get("AsyncAmdStatusCallback") or "") or None
            call.answered = asyncio.Event()
            self.calls[call.sid] = call
            asyncio.get_running_loop().create_task(self._dial(call))
            return JSONResponse(call.resource(self.account_sid), status_code=201)

        @app.get(API + "/Calls/{sid}.json")
        async def fetch(account: str, sid: str, request: Request) -> JSONResponse:
            if not self._authorised(request, account):
                return error(401, 20003, "Authenticate")
            call = self.calls.get(sid)
            if call is None:
                return error(404, 20404, f"The requested resource {sid} was not found")
            return JSONResponse(call.resource(self.account_sid))

        @app.post(API + "/Calls/{sid}.json")
        async def update(account: str, sid: str, request: Request) -> JSONResponse:
            if not self._authorised(request, account):
                return error(401, 20003, "Authenticate")
            form = {k: str(v) for k, v in (await request.form()).items()}
            self.requests.append(("update", sid, form))
            call = self.calls.get(sid)
            if call is None:
                return error(404, 20404, f"The requested resource {sid} was not found")
            call.updates.append(form)
            if form.get("Status") in ("completed", "canceled") and call.status != "completed":
                asyncio.get_running_loop().create_task(
                    self._status(call, "completed", "completed"))
                call.status = "completed"
            elif form.get("Twiml") and call.status != "completed":
                # New instructions: a <Say> then <Hangup/> plays and the call ends.
                call.answer_twiml = form["Twiml"]
                if "<Hangup" in form["Twiml"]:
                    asyncio.get_running_loop().create_task(self._end(call))
            return JSONResponse(call.resource(self.account_sid))

        return app


def overlapping_calls(spans: list[tuple[str, float, float | None]]) -> dict[str, int]:
    """Numbers in two calls at once (a call created before an earlier one ended), counted."""
    by_number: dict[str, list[tuple[float, float]]] = {}
    for number, created, ended in spans:
        by_number.setdefault(number, []).append(
            (created, ended if ended is not None else float("inf")))
    overlaps: dict[str, int] = {}
    for number, calls in by_number.items():
        calls.sort()
        count, latest_end = 0, float("-inf")
        for start, end in calls:
            count += start < latest_end  # began before an earlier call had ended
            latest_end = max(latest_end, end)
        if count:
            overlaps[number] = count
    return overlaps


def max_calls_per_second(times: list[float]) -> int:
    """The most of ``times`` in any one-second window ``[t, t+1)``."""
    times = sorted(times)
    best, first = 0, 0
    for last, moment in enumerate(times):
        while moment - times[first] >= 1.0:
            first += 1
        best = max(best, last - first + 1)
    return best


async def _wait_threadsafe(event: asyncio.Event) -> None:
    # The event belongs to the emulator's loop (another thread): poll rather than await it.
    while not event.is_set():
        await asyncio.sleep(0.02)


if __name__ == "__main__":
    # An emulator in a process of its own, so a busy test process cannot delay the moment it
    # notes a request: ``python -m tests.fakes.twilio_server PORT``.
    import sys

    import uvicorn

    emulator = TwilioEmulator()
    uvicorn.run(emulator._app(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
