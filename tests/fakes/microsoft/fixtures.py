"""Pytest fixtures around the emulator; import them into a test module to use them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet

from app.settings import Settings, get_settings
from storage.database import Database
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
    url = database.url
    if database.schema is not None:
        url = url.update_query_dict({"options": f"-csearch_path={database.schema},public"})
    for name, value in {
        "DATABASE_URL": url.render_as_string(hide_password=False),
        "DATA_DIR": str(ms_settings.data_dir),
        "TOKEN_KEY": ms_settings.token_key.get_secret_value(),
        "GRAPH_BASE_URL": ms_settings.graph_base_url,
        "MICROSOFT_LOGIN_URL": ms_settings.microsoft_login_url,
        "MICROSOFT_CLIENT_ID": ms_settings.microsoft_client_id,
        "MICROSOFT_CLIENT_SECRET": ms_settings.microsoft_client_secret.get_secret_value(),
        "MICROSOFT_REDIRECT_URI": ms_settings.microsoft_redirect_uri,
    }.items():
        monkeypatch.setenv(f"BOOKING_AGENT_{name}", value)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
