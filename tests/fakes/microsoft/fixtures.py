"""Pytest fixtures around the emulator; import them into a test module to use them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet

from app.settings import Settings
from storage.database import Database
from tests.calendar_helpers import operator_environment
from tests.fakes.microsoft.server import MicrosoftEmulator


@pytest.fixture
def emulator() -> Iterator[MicrosoftEmulator]:
    """A running emulator with one work and one personal account."""
    emu = MicrosoftEmulator().start()
    emu.add_account("adele@contoso.com", display_name="Adele Vance",
                    time_zone="Pacific Standard Time", extra_calendars=("Sales demos",))
    emu.add_account("julie@outlook.com", personal=True, display_name="Julie Hm",
                    time_zone="W. Europe Standard Time")
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def ms_settings(emulator: MicrosoftEmulator, tmp_path: object) -> Settings:
    """Settings pointing the product at the emulator, with a fresh token key."""
    return Settings(
        _env_file=None,
        data_dir=tmp_path,
        token_key=Fernet.generate_key().decode(),
        graph_base_url=emulator.graph_base_url,
        microsoft_login_url=emulator.login_url,
        microsoft_client_id=emulator.client_id,
        microsoft_client_secret=emulator.client_secret,
        microsoft_redirect_uri="http://localhost:8765/outlook/callback",
    )


@pytest.fixture
def operator_env(database: Database, ms_settings: Settings,
                 monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The environment ``booking-agent`` runs with: the emulator's settings and this database."""
    yield from operator_environment(database, ms_settings, {
        "GRAPH_BASE_URL": ms_settings.graph_base_url,
        "MICROSOFT_LOGIN_URL": ms_settings.microsoft_login_url,
        "MICROSOFT_CLIENT_ID": ms_settings.microsoft_client_id,
        "MICROSOFT_CLIENT_SECRET": ms_settings.microsoft_client_secret.get_secret_value(),
        "MICROSOFT_REDIRECT_URI": ms_settings.microsoft_redirect_uri,
    }, monkeypatch)
