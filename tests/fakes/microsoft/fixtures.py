"""Pytest fixtures around the emulator; import them into a test module to use them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from app.settings import Settings
from storage.database import Database
from tests.calendar_helpers import cli_environment, operator_environment
from tests.fakes.microsoft.server import MicrosoftEmulator

WORK = "adele@contoso.com"


@pytest.fixture
def emulator() -> Iterator[MicrosoftEmulator]:
    """A running emulator with one work and one personal account."""
    emu = MicrosoftEmulator().start()
    emu.add_account(WORK, display_name="Adele Vance",
                    time_zone="Pacific Standard Time", extra_calendars=("Sales demos",))
    emu.add_account("julie@outlook.com", personal=True, display_name="Julie Hm",
                    time_zone="W. Europe Standard Time")
    try:
        yield emu
    finally:
        emu.stop()


def settings_fields(emulator: MicrosoftEmulator) -> dict[str, str]:
    """The settings that point the product's Microsoft sign-in and Graph at the emulator."""
    return {
        "graph_base_url": emulator.graph_base_url,
        "microsoft_login_url": emulator.login_url,
        "microsoft_client_id": emulator.client_id,
        "microsoft_client_secret": emulator.client_secret,
        "microsoft_redirect_uri": "http://localhost:8765/outlook/callback",
    }


@pytest.fixture
def ms_settings(emulator: MicrosoftEmulator, tmp_path: Path) -> Settings:
    """Settings pointing the product at the emulator, with a fresh token key."""
    return Settings(_env_file=None, data_dir=tmp_path, token_key=Fernet.generate_key().decode(),
                    **settings_fields(emulator))


@pytest.fixture
def operator_env(database: Database, emulator: MicrosoftEmulator, ms_settings: Settings,
                 monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The environment ``booking-agent`` runs with: the emulator's settings and this database."""
    yield from operator_environment(database, ms_settings, settings_fields(emulator),
                                    monkeypatch)


@pytest.fixture
def cli_env(emulator: MicrosoftEmulator, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The environment an operator would set, pointing at the emulator; yields the redirect URI
    (a free local port the CLI listens on)."""
    yield from cli_environment(settings_fields(emulator), tmp_path, monkeypatch)
