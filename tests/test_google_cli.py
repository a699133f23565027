"""``booking-agent google connect|status|calendars|refresh|disconnect`` against the emulator."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from app.cli import main
from app.settings import get_settings
from tests.fakes.google import GoogleEmulator, fixtures
from tests.fakes.loopback import free_port

google = fixtures.google
OWNER = fixtures.OWNER


@pytest.fixture
def cli_env(google: GoogleEmulator, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The environment an operator would set, pointing at the emulator; yields the redirect URI."""
    redirect_uri = f"http://127.0.0.1:{free_port()}/google/callback"
    for name, value in {
        "DATA_DIR": str(tmp_path), "TOKEN_KEY": Fernet.generate_key().decode(),
        "GOOGLE_CALENDAR_BASE_URL": google.calendar_base_url,
        "GOOGLE_AUTH_URL": google.auth_url, "GOOGLE_TOKEN_URL": google.token_url,
        "GOOGLE_REVOKE_URL": google.revoke_url, "GOOGLE_CLIENT_ID": google.client_id,
        "GOOGLE_CLIENT_SECRET": google.client_secret, "GOOGLE_REDIRECT_URI": redirect_uri,
    }.items():
        monkeypatch.setenv(f"BOOKING_AGENT_{name}", value)
    monkeypatch.delenv("BOOKING_AGENT_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield redirect_uri
    get_settings.cache_clear()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["google", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def connect_headless(capsys: pytest.CaptureFixture[str], emu: GoogleEmulator,
                     email: str = OWNER) -> str:
    emu.sign_in_as(email)
    code, out, _ = run(capsys, "connect", "--no-listen")
    assert code == 0
    url = next(line for line in out.splitlines() if line.startswith("http"))
    landed = httpx.get(url).headers["location"]
    code, out, err = run(capsys, "connect", "--redirect-url", landed)
    assert code == 0, err
    return out


def test_headless_connect_status_and_calendar_choice(
        cli_env: str, google: GoogleEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    out = connect_headless(capsys, google)
    assert f"Connected {OWNER} as google:{OWNER}; booking on calendar '{OWNER}'." in out
    code, out, _ = run(capsys, "status")
    assert code == 0
    assert f"account:   {OWNER}" in out
    assert f"calendar:  {OWNER} (Google Meet)" in out
    assert "zone:      America/New_York" in out
    assert "health:    ok" in out
    code, out, _ = run(capsys, "calendars", OWNER)
    assert code == 0
    assert f"* {OWNER} [booking, primary, Meet]" in out and "  Sales demos [Meet]" in out
    code, out, _ = run(capsys, "calendars", f"google:{OWNER}", "--use", "sales demos")
    assert code == 0 and "now books on 'Sales demos'" in out
    assert "calendar:  Sales demos" in run(capsys, "status")[1]


def test_a_revoked_grant_shows_in_status_until_the_owner_reconnects(
        cli_env: str, google: GoogleEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    connect_headless(capsys, google)
    google.revoke_grant(OWNER)
    code, out, _ = run(capsys, "refresh")
    assert code == 1
    reason = "invalid_grant: Token has been expired or revoked."
    assert f"needs reconnect: {reason}" in out
    assert f"health:    needs reconnect: {reason}" in run(capsys, "status")[1]
    connect_headless(capsys, google)
    assert "health:    ok" in run(capsys, "status")[1]
    assert run(capsys, "refresh")[0] == 0


def test_connect_completes_on_the_local_redirect_listener(
        cli_env: str, google: GoogleEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    google.sign_in_as(OWNER)
    result: list[int] = []
    worker = threading.Thread(target=lambda: result.append(main(
        ["google", "connect", "--timeout", "20"])))
    worker.start()
    printed = ""
    deadline = time.monotonic() + 10
    while "http" not in printed and time.monotonic() < deadline:
        time.sleep(0.05)
        printed += capsys.readouterr().out
    url = next(line for line in printed.splitlines() if line.startswith("http"))
    landed = httpx.get(url).headers["location"]
    assert landed.startswith(cli_env)
    assert "Signed in" in httpx.get(landed).text
    worker.join(timeout=20)
    assert result == [0]
    assert f"as google:{OWNER}" in capsys.readouterr().out


def test_disconnect_revokes_and_a_missing_key_is_a_clear_error(
        cli_env: str, google: GoogleEmulator, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    connect_headless(capsys, google)
    code, out, _ = run(capsys, "disconnect", OWNER)
    assert code == 0 and "tokens are deleted" in out and "did not confirm" not in out
    assert all(t.revoked for t in google.world.refresh_tokens.values())
    assert "health:    disconnected" in run(capsys, "status")[1]
    code, _, err = run(capsys, "disconnect", "nobody")
    assert code == 1 and "no Google connection named 'nobody'" in err

    connect_headless(capsys, google)
    monkeypatch.delenv("BOOKING_AGENT_TOKEN_KEY")
    get_settings.cache_clear()
    code, _, err = run(capsys, "status")
    assert code == 1 and "BOOKING_AGENT_TOKEN_KEY is not set" in err


def test_connect_without_a_google_client_says_what_to_set(
        cli_env: str, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BOOKING_AGENT_GOOGLE_CLIENT_ID")
    get_settings.cache_clear()
    code, _, err = run(capsys, "connect", "--no-listen")
    assert code == 1 and "set BOOKING_AGENT_GOOGLE_CLIENT_ID" in err


def test_serve_refuses_to_start_when_stored_google_tokens_have_no_key(
        cli_env: str, google: GoogleEmulator, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    connect_headless(capsys, google)
    monkeypatch.delenv("BOOKING_AGENT_TOKEN_KEY")
    monkeypatch.setenv("BOOKING_AGENT_PUBLIC_URL", "https://agent.example.com")
    monkeypatch.setenv("BOOKING_AGENT_TWILIO_AUTH_TOKEN", "secret")
    get_settings.cache_clear()
    demo = Path(__file__).parent.parent / "examples" / "campaigns" / "demo.yaml"
    assert main(["serve", "--campaign", str(demo)]) == 2
    assert "BOOKING_AGENT_TOKEN_KEY" in capsys.readouterr().err
