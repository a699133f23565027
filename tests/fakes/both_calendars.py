"""Pytest fixtures around both calendar emulators at once, for members on mixed providers
(Outlook and Google); import them into a test module to use them."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from app.settings import Settings
from tests.fakes.google import GoogleEmulator
from tests.fakes.google import fixtures as google_fixtures
from tests.fakes.microsoft import MicrosoftEmulator
from tests.fakes.microsoft import fixtures as ms_fixtures

emulator, google = ms_fixtures.emulator, google_fixtures.google


@pytest.fixture
def settings(emulator: MicrosoftEmulator, google: GoogleEmulator, tmp_path: Path) -> Settings:
    """Settings pointing the product at both emulators, one fresh token key and no LLM (the
    guided policy talks)."""
    return Settings(_env_file=None, openai_api_key=None, data_dir=tmp_path,
                    token_key=Fernet.generate_key().decode(),
                    **ms_fixtures.settings_fields(emulator),
                    **google_fixtures.settings_fields(google))
