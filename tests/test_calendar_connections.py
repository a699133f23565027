"""Connecting an owner's calendar, Outlook and Google alike: the sign-in's redirect is used
once, and the stored tokens are unreadable without the token key, which ``serve`` then needs."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import text

from calendar_backend.token_store import TokenKeyMissing
from tests import owner_calendars
from tests.calendar_helpers import browser
from tests.fakes.google import fixtures as google_fixtures
from tests.fakes.microsoft import fixtures as microsoft_fixtures
from tests.owner_calendars import OwnerCalendar

emulator, ms_settings = microsoft_fixtures.emulator, microsoft_fixtures.ms_settings
google, google_settings = google_fixtures.google, google_fixtures.google_settings
owner_calendar = owner_calendars.owner_calendar


async def test_tokens_are_unreadable_without_the_key(owner_calendar: OwnerCalendar) -> None:
    cal = owner_calendar
    await cal.connect()
    with cal.database.session() as session:
        raw = bytes(session.execute(text(cal.stored_token_query)).scalar())
    refresh_tokens = cal.refresh_tokens()
    assert refresh_tokens and not any(t.encode() in raw for t in refresh_tokens)
    assert b"RefreshToken" not in raw and b"secret" not in raw
    with pytest.raises(InvalidToken):
        Fernet(Fernet.generate_key()).decrypt(raw)
    assert cal.settings.token_key is not None
    key = cal.settings.token_key.get_secret_value().encode()
    assert refresh_tokens[0] in Fernet(key).decrypt(raw).decode()


async def test_refusing_to_start_without_a_key_once_a_connection_exists(
        owner_calendar: OwnerCalendar) -> None:
    cal = owner_calendar
    keyless = cal.settings.model_copy(update={"token_key": None})
    cal.require_token_key(keyless)  # nothing stored yet: fine
    ref = await cal.connect()
    with pytest.raises(TokenKeyMissing):
        cal.require_token_key(keyless)
    with pytest.raises(TokenKeyMissing):
        cal.open(keyless, ref)


async def test_a_sign_in_redirect_completes_once(owner_calendar: OwnerCalendar) -> None:
    cal = owner_calendar
    redirect = browser(await cal.begin_sign_in())
    await cal.complete_sign_in(redirect)
    with pytest.raises(cal.sign_in_failed, match="unknown or was already used"):
        await cal.complete_sign_in(redirect)
    with pytest.raises(cal.sign_in_failed, match="no state"):
        await cal.complete_sign_in(f"http://localhost:8765/{cal.name}/callback?code=x")
