"""The Microsoft emulator on its own: the identity platform's rules and the standalone entry point."""  # noqa: E501

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx

from tests.fakes.microsoft import MicrosoftEmulator, fixtures

emulator = fixtures.emulator
ROOT = Path(__file__).resolve().parent.parent
REDIRECT = "http://localhost:8765/outlook/callback"


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=") \
        .decode()


def _authorize(emu: MicrosoftEmulator, verifier: str, **extra: str) -> dict[str, str]:
    answer = httpx.get(f"{emu.login_url}/common/oauth2/v2.0/authorize", params={
        "client_id": emu.client_id, "response_type": "code", "redirect_uri": REDIRECT,
        "scope": "Calendars.ReadWrite offline_access openid profile", "state": "s-1",
        "nonce": "n-1", "code_challenge": _challenge(verifier),
        "code_challenge_method": "S256", **extra})
    assert answer.status_code == 302
    return dict(parse_qsl(urlsplit(answer.headers["location"]).query))


def _redeem(emu: MicrosoftEmulator, code: str, verifier: str,
            secret: str | None = None) -> httpx.Response:
    return httpx.post(f"{emu.login_url}/common/oauth2/v2.0/token", data={
        "client_id": emu.client_id, "client_secret": secret or emu.client_secret,
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "code_verifier": verifier, "scope": "Calendars.ReadWrite offline_access openid profile"})


def test_codes_are_single_use_and_bound_to_the_pkce_verifier(
        emulator: MicrosoftEmulator) -> None:
    params = _authorize(emulator, "v" * 50, login_hint="julie@outlook.com")
    assert params["state"] == "s-1"
    wrong = _redeem(emulator, params["code"], "w" * 50)
    assert wrong.status_code == 400 and wrong.json()["error_codes"] == [501481]

    params = _authorize(emulator, "v" * 50, login_hint="julie@outlook.com")
    good = _redeem(emulator, params["code"], "v" * 50)
    assert good.status_code == 200
    body = good.json()
    claims = json.loads(base64.urlsafe_b64decode(body["id_token"].split(".")[1] + "=="))
    assert claims["nonce"] == "n-1"
    assert claims["tid"] == "9188040d-6c67-4c5b-b112-36a304b66dad"
    info = json.loads(base64.urlsafe_b64decode(body["client_info"] + "=="))
    assert info == {"uid": claims["oid"], "utid": claims["tid"]}
    replay = _redeem(emulator, params["code"], "v" * 50)
    assert replay.json()["error"] == "invalid_grant" and replay.json()["error_codes"] == [54005]


def test_bad_client_secret_is_invalid_client(emulator: MicrosoftEmulator) -> None:
    params = _authorize(emulator, "v" * 50)
    answer = _redeem(emulator, params["code"], "v" * 50, secret="expired-secret")
    assert answer.status_code == 401
    assert answer.json()["error_codes"] == [7000215]


def test_emulator_runs_standalone_from_the_command_line() -> None:
    port = MicrosoftEmulator().port  # a free port
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.microsoft", "--port", str(port),
         "--personal-account", "kim@hotmail.com"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        lines = [process.stdout.readline().strip() for _ in range(4)]
        assert lines[0] == f"BOOKING_AGENT_GRAPH_BASE_URL=http://127.0.0.1:{port}/v1.0"
        assert lines[1] == f"BOOKING_AGENT_MICROSOFT_LOGIN_URL=http://127.0.0.1:{port}"
        deadline = time.monotonic() + 10
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/common/v2.0/.well-known/"
                                   "openid-configuration")
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert answer.json()["token_endpoint"] == \
            "https://login.microsoftonline.com/common/oauth2/v2.0/token"
        assert httpx.get(f"http://127.0.0.1:{port}/v1.0/me").status_code == 401
    finally:
        process.terminate()
        process.wait(timeout=10)
