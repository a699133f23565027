"""The Google emulator's OAuth endpoints, sync tokens and push channels as Google documents
them, the emulator run alone, and the fault benchmark's verdict on a short run."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
from fastapi import FastAPI, Request

from tests.fakes.google import GoogleEmulator, fixtures
from tests.fakes.loopback import BackgroundServer, free_port

google = fixtures.google
ROOT = Path(__file__).resolve().parent.parent
REDIRECT = "http://localhost:8765/google/callback"
VERIFIER = "v" * 64
CALENDAR_EVENTS = "https://www.googleapis.com/auth/calendar.events"


def _authorize(emu: GoogleEmulator, *, offline: bool = True) -> dict[str, str]:
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()
    query = {"client_id": emu.client_id, "redirect_uri": REDIRECT, "response_type": "code",
             "scope": f"openid email {CALENDAR_EVENTS}", "state": "s1",
             "code_challenge": challenge, "code_challenge_method": "S256"}
    if offline:
        query["access_type"] = "offline"
    answer = httpx.get(f"{emu.auth_url}?{urlencode(query)}")
    assert answer.status_code == 302
    return dict(parse_qsl(urlsplit(answer.headers["location"]).query))


def _token(emu: GoogleEmulator, **form: str) -> httpx.Response:
    return httpx.post(emu.token_url, data={"client_id": emu.client_id,
                                           "client_secret": emu.client_secret, **form})


def _redeem(emu: GoogleEmulator, code: str, verifier: str = VERIFIER) -> httpx.Response:
    return _token(emu, grant_type="authorization_code", code=code, redirect_uri=REDIRECT,
                  code_verifier=verifier)


def test_a_code_redeems_once_with_its_verifier_for_tokens_and_an_id_token(
        google: GoogleEmulator) -> None:
    params = _authorize(google)
    assert params["state"] == "s1"
    body = _redeem(google, params["code"]).json()
    assert set(body) == {"access_token", "expires_in", "refresh_token", "scope", "token_type",
                         "id_token"}
    assert body["token_type"] == "Bearer" and body["scope"].split()[-1] == CALENDAR_EVENTS
    replay = _redeem(google, params["code"])
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"


def test_a_wrong_verifier_is_refused(google: GoogleEmulator) -> None:
    answer = _redeem(google, _authorize(google)["code"], "w" * 64)
    assert answer.json() == {"error": "invalid_grant",
                             "error_description": "Invalid code verifier."}


def test_online_access_gets_no_refresh_token(google: GoogleEmulator) -> None:
    body = _redeem(google, _authorize(google, offline=False)["code"]).json()
    assert "refresh_token" not in body


def test_refresh_keeps_the_refresh_token_until_the_grant_is_revoked(
        google: GoogleEmulator) -> None:
    refresh_token = _redeem(google, _authorize(google)["code"]).json()["refresh_token"]
    fresh = _token(google, grant_type="refresh_token", refresh_token=refresh_token).json()
    assert "access_token" in fresh and "refresh_token" not in fresh
    assert httpx.post(google.revoke_url, data={"token": refresh_token}).status_code == 200
    refused = _token(google, grant_type="refresh_token", refresh_token=refresh_token)
    assert refused.status_code == 400
    assert refused.json() == {"error": "invalid_grant",
                              "error_description": "Token has been expired or revoked."}
    again = httpx.post(google.revoke_url, data={"token": refresh_token})
    assert again.json()["error"] == "invalid_token"


def test_an_unknown_client_is_refused(google: GoogleEmulator) -> None:
    answer = httpx.post(google.token_url, data={"client_id": "someone-else",
                                                "grant_type": "refresh_token"})
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"


def test_emulator_runs_standalone_from_the_command_line() -> None:
    port = GoogleEmulator().port  # a free port
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.google", "--port", str(port),
         "--account", "kim@gmail.com"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        lines = [process.stdout.readline().strip() for _ in range(6)]
        base = f"http://127.0.0.1:{port}"
        assert lines[:4] == [f"BOOKING_AGENT_GOOGLE_CALENDAR_BASE_URL={base}/calendar/v3",
                             f"BOOKING_AGENT_GOOGLE_AUTH_URL={base}/o/oauth2/v2/auth",
                             f"BOOKING_AGENT_GOOGLE_TOKEN_URL={base}/token",
                             f"BOOKING_AGENT_GOOGLE_REVOKE_URL={base}/revoke"]
        deadline = time.monotonic() + 10
        while True:
            try:
                answer = httpx.get(f"{base}/calendar/v3/users/me/calendarList")
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert answer.status_code == 401
        assert answer.json()["error"]["status"] == "UNAUTHENTICATED"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.parametrize("database_url", [None, "postgresql"])
def test_the_fault_bench_books_every_confirmed_booking_exactly_once(
        database_url: str | None) -> None:
    argv = [sys.executable, "bench/google_faults.py", "--bookings", "24", "--concurrency", "6",
            "--fault-rate", "0.2", "--lost-rate", "0.1", "--seed", "3"]
    if database_url:
        argv += ["--database-url", os.environ.get("BOOKING_AGENT_TEST_POSTGRES_URL",
                                                  "postgresql://root@127.0.0.1:5432/test")]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120)
    last = done.stdout.strip().splitlines()[-1]
    figures = dict(part.split("=") for part in last.split())
    assert list(figures) == ["bookings", "confirmed", "exactly_once", "duplicates", "orphans",
                             "requests_per_booking"]
    assert done.returncode == 0, done.stdout + done.stderr
    assert figures["bookings"] == figures["confirmed"] == figures["exactly_once"] == "24"
    assert figures["duplicates"] == figures["orphans"] == "0"


def _api(emu: GoogleEmulator) -> httpx.Client:
    token = _redeem(emu, _authorize(emu)["code"]).json()["access_token"]
    return httpx.Client(base_url=emu.calendar_base_url,
                        headers={"Authorization": f"Bearer {token}"})


def test_sync_tokens_list_changes_only_and_refuse_filters_and_expire_with_410(
        google: GoogleEmulator) -> None:
    api = _api(google)
    events = f"/calendars/{fixtures.OWNER}/events"
    start = datetime(2031, 3, 3, 15, tzinfo=UTC)
    ids = [google.add_event(fixtures.OWNER, start + timedelta(hours=h),
                            start + timedelta(hours=h, minutes=30)) for h in range(3)]
    first = api.get(events, params={"maxResults": "2"}).json()
    assert "nextSyncToken" not in first and first["nextPageToken"]
    last = api.get(events, params={"maxResults": "2", "pageToken": first["nextPageToken"]}).json()
    token = last["nextSyncToken"]
    # Ordered lists carry no sync token.
    ordered = api.get(events, params={"singleEvents": "true", "orderBy": "startTime"}).json()
    assert "nextSyncToken" not in ordered

    google.owner_deletes(fixtures.OWNER, ids[0])
    changed = api.get(events, params={"syncToken": token}).json()
    assert [(i["id"], i["status"]) for i in changed["items"]] == [(ids[0], "cancelled")]
    again = api.get(events, params={"syncToken": changed["nextSyncToken"]}).json()
    assert again["items"] == []

    refused = api.get(events, params={"syncToken": token, "timeMin": "2031-01-01T00:00:00Z"})
    assert refused.json()["error"]["errors"][0]["reason"] == "syncTokenWithRequestRestrictions"
    assert api.get(events, params={"syncToken": "not a token"}).status_code == 400
    google.expire_sync_tokens()
    gone = api.get(events, params={"syncToken": token})
    assert gone.status_code == 410
    assert gone.json()["error"]["errors"][0]["reason"] == "fullSyncRequired"


def test_a_watch_channel_notifies_its_address_until_stopped(google: GoogleEmulator) -> None:
    seen: list[dict[str, str]] = []
    app = FastAPI()

    @app.post("/hook")
    async def hook(request: Request) -> dict[str, str]:
        seen.append({k: v for k, v in request.headers.items() if k.startswith("x-goog-")})
        return {}

    port = free_port()
    server = BackgroundServer(app, port, name="hook").start()
    try:
        api = _api(google)
        watch = f"/calendars/{fixtures.OWNER}/events/watch"
        assert api.post(watch, json={"id": "c1", "type": "web_hook"}).status_code == 400
        made = api.post(watch, json={"id": "c1", "type": "web_hook", "token": "t0k",
                                     "address": f"http://127.0.0.1:{port}/hook"}).json()
        assert made["id"] == "c1" and made["resourceId"] and int(made["expiration"]) > 0
        start = datetime(2031, 3, 3, 15, tzinfo=UTC)
        google.add_event(fixtures.OWNER, start, start + timedelta(minutes=30))
        deadline = time.monotonic() + 5
        while len(seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [(h["x-goog-resource-state"], h["x-goog-message-number"]) for h in seen] \
            in ([("sync", "0"), ("exists", "1")], [("exists", "1"), ("sync", "0")])
        assert all(h["x-goog-channel-id"] == "c1" and h["x-goog-channel-token"] == "t0k"
                   and h["x-goog-resource-id"] == made["resourceId"] for h in seen)

        assert api.post("/channels/stop", json={"id": "c1", "resourceId": "wrong"}
                        ).status_code == 404
        assert api.post("/channels/stop", json={"id": "c1", "resourceId": made["resourceId"]}
                        ).status_code == 204
        google.add_event(fixtures.OWNER, start, start + timedelta(minutes=30))
        time.sleep(0.3)
        assert len(seen) == 2 and google.channels() == []
    finally:
        server.stop()
