"""``booking-agent google connect|status|calendars|refresh|disconnect`` against the emulator."""

from __future__ import annotations

import httpx
import pytest

from app.cli import main
from app.settings import get_settings
from tests.fakes.google import GoogleEmulator, fixtures

google, cli_env = fixtures.google, fixtures.cli_env
OWNER = fixtures.OWNER


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


def test_connect_without_a_google_client_says_what_to_set(
        cli_env: str, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BOOKING_AGENT_GOOGLE_CLIENT_ID")
    get_settings.cache_clear()
    code, _, err = run(capsys, "connect", "--no-listen")
    assert code == 1 and "set BOOKING_AGENT_GOOGLE_CLIENT_ID" in err


