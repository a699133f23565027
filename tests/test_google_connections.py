"""Connecting Google accounts through the real authlib client, their health, and their
encrypted tokens at rest (against the Google emulator; both databases)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from app.settings import Settings
from calendar_backend.google import connections
from calendar_backend.google.auth import SCOPES, Account, SignInFailed, token_account
from calendar_backend.google.connections import (
    Connection,
    connection_usable,
    disconnect,
    find_connection,
    list_calendars,
    open_calendar,
    set_calendar,
)
from calendar_backend.google.sign_in import begin_sign_in, complete_sign_in
from calendar_backend.provider import CalendarUnavailable
from storage.database import Database
from tests.calendar_helpers import browser
from tests.fakes.google import GoogleEmulator, fixtures

google, google_settings = fixtures.google, fixtures.google_settings

OWNER = fixtures.OWNER
DAY = datetime(2030, 3, 5, 13, tzinfo=UTC)
EVENTS_SCOPE = "https://www.googleapis.com/auth/calendar.events"



async def connect(database: Database, settings: Settings, emu: GoogleEmulator,
                  email: str = OWNER, name: str | None = None) -> Connection:
    emu.sign_in_as(email)
    url = await begin_sign_in(database, settings.google(), name=name)
    return await complete_sign_in(database, settings.google(), browser(url))


def _jwt(raw: bytes) -> str:
    return "h." + base64.urlsafe_b64encode(raw).decode().rstrip("=") + ".s"


_CLAIMS = st.dictionaries(st.sampled_from(["sub", "email", "aud"]),
                          st.one_of(st.text(max_size=20), st.integers(), st.none()))


@given(st.one_of(st.text(max_size=200), st.binary(max_size=200).map(_jwt),
                 _CLAIMS.map(lambda claims: _jwt(json.dumps(claims).encode()))))
def test_a_malformed_id_token_is_a_clear_sign_in_failure(id_token: str) -> None:
    try:
        account = token_account({"id_token": id_token})
    except SignInFailed as exc:
        assert str(exc) == "Google returned no usable ID token"
    else:
        assert isinstance(account, Account) and account.subject


def test_the_id_token_names_the_account() -> None:
    claims = _jwt(b'{"sub": "1234", "email": "a@b.org"}')
    assert token_account({"id_token": claims}) == Account("1234", "a@b.org")
    with pytest.raises(SignInFailed):
        token_account({"access_token": "no id token"})


async def test_connecting_records_the_account_its_primary_calendar_and_zone(
        database: Database, google: GoogleEmulator, google_settings: Settings) -> None:
    connection = await connect(database, google_settings, google)
    account = google.world.account(OWNER)
    assert connection.ref == "google:grace@gmail.com"
    assert (connection.username, connection.subject) == (OWNER, account.subject)
    assert (connection.calendar_id, connection.calendar_name) == (OWNER, OWNER)
    assert connection.meet_allowed
    assert connection.owner_zone == "America/New_York"
    assert connection.usable and connection_usable(database, connection.ref)
    # The web flow asked for offline access with PKCE (S256) and exactly our scopes.
    [authorize] = google.requests("oauth", path_contains="/auth")
    assert authorize.query["code_challenge_method"] == "S256"
    assert authorize.query["access_type"] == "offline"
    assert authorize.query["scope"].split() == SCOPES
    [redeem] = google.requests("oauth", path_contains="/token")
    assert redeem.body["grant_type"] == "authorization_code" and redeem.status == 200


async def test_the_calendar_list_offers_every_calendar_and_another_can_be_chosen(
        database: Database, google: GoogleEmulator, google_settings: Settings) -> None:
    connection = await connect(database, google_settings, google, name="Grace")
    calendars = await list_calendars(database, google_settings.google(), connection.ref)
    assert [(c.name, c.primary, c.can_edit, c.meet_allowed) for c in calendars] == [
        (OWNER, True, True, True), ("Sales demos", False, True, True)]
    chosen = set_calendar(database, "grace", calendars[1])
    assert (chosen.ref, chosen.calendar_name) == ("google:grace", "Sales demos")
    assert find_connection(database, "google:grace").calendar_id == calendars[1].id


async def test_declined_consent_is_a_clear_failure_that_saves_nothing(
        database: Database, google: GoogleEmulator, google_settings: Settings) -> None:
    google.world.deny_consent = True
    redirect = browser(await begin_sign_in(database, google_settings.google()))
    with pytest.raises(SignInFailed, match="sign-in refused: access_denied"):
        await complete_sign_in(database, google_settings.google(), redirect)
    assert connections.list_connections(database) == []


async def test_unticking_calendar_access_on_the_consent_screen_fails_the_sign_in(
        database: Database, google: GoogleEmulator, google_settings: Settings) -> None:
    google.withhold_scopes(EVENTS_SCOPE)
    redirect = browser(await begin_sign_in(database, google_settings.google()))
    with pytest.raises(SignInFailed, match="calendar access was not granted"):
        await complete_sign_in(database, google_settings.google(), redirect)
    assert connections.list_connections(database) == []


async def test_an_expired_access_token_is_refreshed_without_the_owner(
        database: Database, google: GoogleEmulator, google_settings: Settings) -> None:
    connection = await connect(database, google_settings, google)
    calendar = open_calendar(database, google_settings.google(), connection.ref)
    assert calendar is not None
    google.expire_access_tokens(OWNER)
    google.clear_log()
    assert await calendar.busy_times(DAY, DAY + timedelta(hours=8)) == []
    statuses = [(r.service, r.status) for r in google.world.log]
    assert statuses == [("calendar", 401), ("oauth", 200), ("calendar", 200)]
    [refresh] = google.requests("oauth")
    assert refresh.body["grant_type"] == "refresh_token"
    assert find_connection(database, connection.ref).usable


async def test_a_revoked_grant_needs_a_reconnect_and_reconnecting_restores_booking(
        database: Database, google: GoogleEmulator, google_settings: Settings) -> None:
    connection = await connect(database, google_settings, google)
    calendar = open_calendar(database, google_settings.google(), connection.ref)
    assert calendar is not None
    google.revoke_grant(OWNER)  # the owner removed the app at myaccount.google.com
    with pytest.raises(CalendarUnavailable) as failure:
        await calendar.busy_times(DAY, DAY + timedelta(hours=8))
    assert failure.value.needs_reconnect
    marked = find_connection(database, connection.ref)
    assert (marked.status, marked.status_reason) == (
        "needs_reconnect", "invalid_grant: Token has been expired or revoked.")
    assert not connection_usable(database, connection.ref)
    assert open_calendar(database, google_settings.google(), connection.ref) is None

    again = await connect(database, google_settings, google)
    assert (again.id, again.status, again.status_reason) == (connection.id, "connected", None)
    calendar = open_calendar(database, google_settings.google(), connection.ref)
    assert calendar is not None
    assert await calendar.busy_times(DAY, DAY + timedelta(hours=8)) == []


async def test_calendar_access_taken_back_mid_grant_needs_a_reconnect(
        database: Database, google: GoogleEmulator, google_settings: Settings) -> None:
    connection = await connect(database, google_settings, google)
    calendar = open_calendar(database, google_settings.google(), connection.ref)
    assert calendar is not None
    with google.world.lock:  # the grant no longer covers free/busy
        for token in google.world.access_tokens.values():
            token.scope = " ".join(s for s in token.scope.split() if "freebusy" not in s)
    with pytest.raises(CalendarUnavailable) as failure:
        await calendar.busy_times(DAY, DAY + timedelta(hours=8))
    assert failure.value.needs_reconnect
    assert "insufficientPermissions" in find_connection(database, connection.ref).status_reason


async def test_disconnecting_revokes_the_grant_at_google_and_deletes_the_tokens(
        database: Database, google: GoogleEmulator, google_settings: Settings) -> None:
    connection = await connect(database, google_settings, google)
    gone, revoked = await disconnect(database, google_settings.google(), connection.ref)
    assert revoked and gone.status == "disconnected"
    assert all(t.revoked for t in google.world.refresh_tokens.values())
    with database.session() as session:
        assert session.execute(text("SELECT token FROM google_connections")).scalar() is None
    assert open_calendar(database, google_settings.google(), connection.ref) is None
    assert not connection_usable(database, connection.ref)


async def test_two_names_for_one_account_are_refused(
        database: Database, google: GoogleEmulator, google_settings: Settings) -> None:
    google.add_account("ada@example.org")
    await connect(database, google_settings, google, name="team")
    with pytest.raises(connections.ConnectionNameTaken):
        await connect(database, google_settings, google, "ada@example.org", name="team")
    assert [c.username for c in connections.list_connections(database)] == [OWNER]
