"""Pytest fixtures around the Google emulator; import them into a test module to use them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from app.settings import Settings
from storage.database import Database
from tests.calendar_helpers import cli_environment, operator_environment
from tests.fakes.google.server import GoogleEmulator

OWNER = "grace@gmail.com"


@pytest.fixture
def google() -> Iterator[GoogleEmulator]:
    """A running emulator with one account (New York) that has a second calendar."""
    emu = GoogleEmulator().start()
    emu.add_account(OWNER, display_name="Grace Hopper", time_zone="America/New_York",
                    extra_calendars=("Sales demos",))
    try:
        yield emu
    finally:
        emu.stop()


def settings_fields(emulator: GoogleEmulator) -> dict[str, str]:
    """The settings that point the product's Google sign-in and Calendar API at the emulator."""
    return {
        "google_calendar_base_url": emulator.calendar_base_url,
        "google_auth_url": emulator.auth_url,
        "google_token_url": emulator.token_url,
        "google_revoke_url": emulator.revoke_url,
        "google_client_id": emulator.client_id,
        "google_client_secret": emulator.client_secret,
        "google_redirect_uri": "http://localhost:8765/google/callback",
    }


def settings_for(emulator: GoogleEmulator, data_dir: Path) -> Settings:
    """Settings pointing the product at the emulator, with a fresh token key (the fault bench
    uses them too)."""
    return Settings(_env_file=None, data_dir=data_dir, token_key=Fernet.generate_key().decode(),
                    **settings_fields(emulator))


@pytest.fixture
def google_settings(google: GoogleEmulator, tmp_path: Path) -> Settings:
    """Settings pointing the product at the emulator, with a fresh token key."""
    return settings_for(google, tmp_path)


@pytest.fixture
def operator_env(database: Database, google: GoogleEmulator, google_settings: Settings,
                 monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The environment ``booking-agent`` runs with: the emulator's settings and this database."""
    yield from operator_environment(database, google_settings, settings_fields(google),
                                    monkeypatch)


@pytest.fixture
def cli_env(google: GoogleEmulator, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The environment an operator would set, pointing at the emulator; yields the redirect URI
    (a free local port the CLI listens on)."""
    yield from cli_environment(settings_fields(google), tmp_path, monkeypatch)
