"""``booking-agent outlook|google connect|disconnect`` and ``serve``, Outlook and Google alike,
against the emulators: the local redirect listener, disconnecting, and the token key."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from app.cli import main
from app.settings import get_settings
from tests.fakes.google import GoogleEmulator
from tests.fakes.google import fixtures as google_fixtures
from tests.fakes.microsoft import MicrosoftEmulator
from tests.fakes.microsoft import fixtures as microsoft_fixtures

emulator, google = microsoft_fixtures.emulator, google_fixtures.google
outlook_cli_env, google_cli_env = microsoft_fixtures.cli_env, google_fixtures.cli_env


@dataclass
class Cli:
    """One provider's ``booking-agent`` commands, run as the operator runs them."""

    name: str  # the command and the ref's prefix
    title: str  # the provider as the CLI names it
    emulator: MicrosoftEmulator | GoogleEmulator
    owner: str
    redirect_uri: str
    capsys: pytest.CaptureFixture[str]

    def run(self, *argv: str) -> tuple[int, str, str]:
        """``booking-agent <provider> ...``: exit code, output, errors."""
        code = main([self.name, *argv])
        out, err = self.capsys.readouterr()
        return code, out, err

    def connect_headless(self) -> str:
        """``connect --no-listen``, the owner's browser, ``connect --redirect-url``."""
        self.emulator.sign_in_as(self.owner)
        code, out, _ = self.run("connect", "--no-listen")
        assert code == 0
        url = next(line for line in out.splitlines() if line.startswith("http"))
        landed = httpx.get(url).headers["location"]
        code, out, err = self.run("connect", "--redirect-url", landed)
        assert code == 0, err
        return out


@pytest.fixture(params=[("outlook", "Outlook", "emulator", microsoft_fixtures.WORK),
                        ("google", "Google", "google", google_fixtures.OWNER)],
                ids=["outlook", "google"])
def cli(request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]) -> Iterator[Cli]:
    """Each provider's commands in turn, in the environment an operator would set."""
    name, title, emulator_fixture, owner = request.param
    yield Cli(name, title, request.getfixturevalue(emulator_fixture), owner,
              request.getfixturevalue(f"{name}_cli_env"), capsys)


def test_connect_completes_on_the_local_redirect_listener(cli: Cli) -> None:
    cli.emulator.sign_in_as(cli.owner)
    result: list[int] = []
    worker = threading.Thread(target=lambda: result.append(main(
        [cli.name, "connect", "--timeout", "20"])))
    worker.start()
    printed = ""
    deadline = time.monotonic() + 10
    while "http" not in printed and time.monotonic() < deadline:
        time.sleep(0.05)
        printed += cli.capsys.readouterr().out
    url = next(line for line in printed.splitlines() if line.startswith("http"))
    # The browser: sign in, then follow the redirect to the listener.
    landed = httpx.get(url).headers["location"]
    assert landed.startswith(cli.redirect_uri)
    assert "Signed in" in httpx.get(landed).text
    worker.join(timeout=20)
    assert result == [0]
    assert f"as {cli.name}:{cli.owner}" in cli.capsys.readouterr().out


def test_disconnect_deletes_the_tokens_and_a_missing_key_is_a_clear_error(
        cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    cli.connect_headless()
    code, out, _ = cli.run("disconnect", cli.owner)
    assert code == 0 and "tokens are deleted" in out and "did not confirm" not in out
    assert "health:    disconnected" in cli.run("status")[1]
    code, _, err = cli.run("disconnect", "nobody")
    assert code == 1 and f"no {cli.title} connection named 'nobody'" in err

    cli.connect_headless()
    monkeypatch.delenv("BOOKING_AGENT_TOKEN_KEY")
    get_settings.cache_clear()
    code, _, err = cli.run("status")
    assert code == 1 and "BOOKING_AGENT_TOKEN_KEY is not set" in err


def test_serve_refuses_to_start_when_stored_tokens_have_no_key(
        cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    cli.connect_headless()
    monkeypatch.delenv("BOOKING_AGENT_TOKEN_KEY")
    monkeypatch.setenv("BOOKING_AGENT_PUBLIC_URL", "https://agent.example.com")
    monkeypatch.setenv("BOOKING_AGENT_TWILIO_AUTH_TOKEN", "secret")
    get_settings.cache_clear()
    demo = Path(__file__).parent.parent / "examples" / "campaigns" / "demo.yaml"
    assert main(["serve", "--campaign", str(demo)]) == 2
    assert "BOOKING_AGENT_TOKEN_KEY" in cli.capsys.readouterr().err
