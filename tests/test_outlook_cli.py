"""``booking-agent outlook connect|status|calendars|refresh|disconnect`` against the emulator."""

from __future__ import annotations

import httpx
import pytest

from app.cli import main
from tests.fakes.microsoft import MicrosoftEmulator, fixtures

emulator, ms_settings, operator_env, cli_env = fixtures.emulator, fixtures.ms_settings, \
    fixtures.operator_env, fixtures.cli_env
WORK = fixtures.WORK


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["outlook", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def sign_in_headless(capsys: pytest.CaptureFixture[str], emu: MicrosoftEmulator,
                     username: str, *connect_args: str) -> str:
    """``connect --no-listen``, then the owner's browser; returns the URL it landed on."""
    emu.sign_in_as(username)
    code, out, _ = run(capsys, "connect", "--no-listen", *connect_args)
    assert code == 0
    url = next(line for line in out.splitlines() if line.startswith("http"))
    return str(httpx.get(url).headers["location"])


def connect_headless(capsys: pytest.CaptureFixture[str], emu: MicrosoftEmulator,
                     username: str) -> str:
    landed = sign_in_headless(capsys, emu, username)
    code, out, err = run(capsys, "connect", "--redirect-url", landed)
    assert code == 0, err
    return out


def test_headless_connect_status_and_calendar_choice(
        cli_env: str, emulator: MicrosoftEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    out = connect_headless(capsys, emulator, WORK)
    assert "Connected adele@contoso.com (work or school account) as outlook:adele@contoso.com" \
        in out
    code, out, _ = run(capsys, "status")
    assert code == 0
    assert "account:   adele@contoso.com (work or school account)" in out
    assert "calendar:  Calendar (Teams)" in out
    assert "zone:      America/Los_Angeles" in out
    assert "health:    ok" in out
    code, out, _ = run(capsys, "calendars", "adele@contoso.com")
    assert code == 0
    assert "* Calendar [booking, default, Teams]" in out and "  Sales demos [Teams]" in out
    code, out, _ = run(capsys, "calendars", "outlook:adele@contoso.com", "--use", "sales demos")
    assert code == 0 and "now books on 'Sales demos'" in out
    out = run(capsys, "status")[1]
    assert "calendar:  Sales demos" in out
    assert "busy from: the default calendar too" in out
    out = run(capsys, "calendars", "adele@contoso.com")[1]
    assert "  Calendar [default, busy time blocks booking, Teams]" in out
    assert "* Sales demos [booking, Teams]" in out
    code, _, err = run(capsys, "calendars", "adele@contoso.com", "--block", "Holidays")
    assert code == 1 and "0 calendars match 'Holidays'" in err


def test_personal_account_shows_its_type_and_a_mailbox_without_a_zone(
        cli_env: str, emulator: MicrosoftEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    emulator.add_account("kim@hotmail.com", personal=True, time_zone=None)
    connect_headless(capsys, emulator, "kim@hotmail.com")
    out = run(capsys, "status")[1]
    assert "kim@hotmail.com (personal Microsoft account)" in out
    assert "zone:      the campaign's zone (the mailbox says 'nothing')" in out
    assert "calendar:  Calendar\n" in out


def test_refresh_failure_shows_in_status_until_the_owner_reconnects(
        cli_env: str, emulator: MicrosoftEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    connect_headless(capsys, emulator, WORK)
    emulator.fail_refresh(WORK, "invalid_grant", 700082)
    code, out, _ = run(capsys, "refresh")
    assert code == 1
    assert "needs reconnect: invalid_grant AADSTS700082" in out
    assert "health:    needs reconnect: invalid_grant AADSTS700082" in run(capsys, "status")[1]
    emulator.heal_refresh(WORK)
    connect_headless(capsys, emulator, WORK)
    assert "health:    ok" in run(capsys, "status")[1]
    assert run(capsys, "refresh")[0] == 0


# The token endpoint answering 503 makes MSAL raise MsalServiceError; 429 comes back as an
# OAuth error (temporarily_unavailable), or as a page MSAL cannot read. Retry-After 0: MSAL
# keeps no throttle entry, so the operator's retry (a new process in real life) reaches the
# endpoint again.
IDENTITY_OUTAGES = [pytest.param(503, True, id="token-endpoint-503"),
                    pytest.param(429, True, id="token-endpoint-429"),
                    pytest.param(429, False, id="token-endpoint-429-not-json")]


@pytest.mark.parametrize(("status", "as_json"), IDENTITY_OUTAGES)
def test_refresh_during_a_sign_in_service_outage_exits_non_zero_and_stays_connected(
        operator_env: None, emulator: MicrosoftEmulator, capsys: pytest.CaptureFixture[str],
        status: int, as_json: bool) -> None:
    connect_headless(capsys, emulator, WORK)
    emulator.fail_token_requests(status, retry_after="0", as_json=as_json)
    code, out, err = run(capsys, "refresh")
    assert code == 1 and "Traceback" not in err
    assert "outlook:adele@contoso.com: refresh failed, temporarily: the Microsoft sign-in " \
        "service is temporarily unavailable" in out
    assert "health:    ok" in run(capsys, "status")[1]
    assert run(capsys, "refresh")[0] == 0


@pytest.mark.parametrize(("status", "as_json"), IDENTITY_OUTAGES)
def test_connect_during_a_sign_in_service_outage_keeps_the_sign_in_for_a_retry(
        operator_env: None, emulator: MicrosoftEmulator, capsys: pytest.CaptureFixture[str],
        status: int, as_json: bool) -> None:
    landed = sign_in_headless(capsys, emulator, WORK)
    emulator.fail_token_requests(status, retry_after="0", as_json=as_json)
    code, _, err = run(capsys, "connect", "--redirect-url", landed)
    assert code == 1
    assert "temporarily unavailable" in err
    assert "the sign-in is kept: run the same command again in a minute" in err
    assert "Traceback" not in err
    assert "code=" not in err  # the pasted URL's code is not echoed
    assert "No Outlook connections" in run(capsys, "status")[1]
    code, out, err = run(capsys, "connect", "--redirect-url", landed)
    assert code == 0, err
    assert "as outlook:adele@contoso.com" in out


def test_connect_with_a_new_name_never_renames_a_connected_account(
        operator_env: None, emulator: MicrosoftEmulator,
        capsys: pytest.CaptureFixture[str]) -> None:
    connect_headless(capsys, emulator, WORK)
    for start_args, finish_args in ((("--name", "sales"), ()), ((), ("--name", "sales"))):
        landed = sign_in_headless(capsys, emulator, WORK, *start_args)
        code, _, err = run(capsys, "connect", "--redirect-url", landed, *finish_args)
        assert code == 1
        assert "adele@contoso.com is already connected as outlook:adele@contoso.com" in err
        assert "nothing was changed" in err
    out = run(capsys, "status")[1]
    assert "outlook:adele@contoso.com\n" in out and "outlook:sales" not in out
    assert "health:    ok" in out


def test_redirect_url_step_honours_the_name_given_with_it(
        operator_env: None, emulator: MicrosoftEmulator,
        capsys: pytest.CaptureFixture[str]) -> None:
    landed = sign_in_headless(capsys, emulator, "julie@outlook.com")
    code, out, err = run(capsys, "connect", "--redirect-url", landed, "--name", "Julie")
    assert code == 0, err
    assert "as outlook:julie;" in out
    assert "outlook:julie\n" in run(capsys, "status")[1]


def test_an_owner_in_india_is_shown_in_asia_kolkata(
        cli_env: str, emulator: MicrosoftEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    emulator.add_account("ravi@contoso.com", time_zone="India Standard Time")
    connect_headless(capsys, emulator, "ravi@contoso.com")
    out = run(capsys, "status")[1]
    assert "zone:      Asia/Kolkata" in out and "Calcutta" not in out
