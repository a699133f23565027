"""Connecting Outlook accounts, keeping them healthy, and their encrypted tokens at rest."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import text

from app.settings import Settings
from calendar_backend.outlook import connections
from calendar_backend.outlook.auth import SignInFailed, SignInUnavailable
from calendar_backend.outlook.connections import (
    Connection,
    connection_usable,
    disconnect,
    find_connection,
    list_calendars,
    open_calendar,
    set_calendar,
)
from calendar_backend.outlook.sign_in import begin_sign_in, complete_sign_in
from calendar_backend.outlook.upkeep import keep_connections_alive
from calendar_backend.provider import Attendee, CalendarUnavailable, NewEvent
from storage.database import Database
from tests.calendar_helpers import browser
from tests.fakes.microsoft import PERSONAL_TENANT, MicrosoftEmulator, fixtures

emulator, ms_settings = fixtures.emulator, fixtures.ms_settings

WORK, PERSONAL = "adele@contoso.com", "julie@outlook.com"
DAY = datetime(2030, 3, 5, tzinfo=UTC)



async def connect(database: Database, settings: Settings, emu: MicrosoftEmulator,
                  username: str, name: str | None = None) -> Connection:
    emu.sign_in_as(username)
    url = begin_sign_in(database, settings.outlook(), name=name)
    return await complete_sign_in(database, settings.outlook(), browser(url))


async def test_connecting_a_work_account_records_the_account_calendar_and_zone(
        database: Database, emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    connection = await connect(database, ms_settings, emulator, WORK)
    account = emulator.world.account(WORK)
    assert connection.ref == "outlook:adele@contoso.com"
    assert (connection.username, connection.account_type) == (WORK, "work")
    assert (connection.tenant_id, connection.object_id) == (account.tenant_id, account.object_id)
    assert connection.calendar_id == account.calendar(None).id
    assert connection.calendar_name == "Calendar"
    assert connection.teams_allowed
    assert connection.owner_zone == "America/Los_Angeles"
    assert connection.usable and connection.status == "connected"
    assert connection_usable(database, connection.ref)
    # The sign-in used PKCE and the real scopes; MSAL added the OpenID ones itself.
    [authorize] = emulator.requests("login", path_contains="authorize")
    assert authorize.query["code_challenge_method"] == "S256"
    assert set(authorize.query["scope"].split()) == {
        "Calendars.ReadWrite", "User.Read", "MailboxSettings.Read",
        "offline_access", "openid", "profile"}


async def test_connecting_a_personal_account_marks_it_personal_without_teams(
        database: Database, emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    connection = await connect(database, ms_settings, emulator, PERSONAL, name="Julie")
    assert connection.tenant_id == PERSONAL_TENANT
    assert connection.account_type == "personal"
    assert connection.ref == "outlook:julie"
    assert connection.username == PERSONAL  # no mail on /me: the UPN is the address
    assert not connection.teams_allowed
    assert connection.owner_zone == "Europe/Berlin"


async def test_two_accounts_connect_side_by_side(
        database: Database, emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    await connect(database, ms_settings, emulator, WORK)
    await connect(database, ms_settings, emulator, PERSONAL)
    names = [c.name for c in connections.list_connections(database)]
    assert names == ["adele@contoso.com", "julie@outlook.com"]


async def test_a_sign_in_the_identity_platform_could_not_redeem_can_be_completed_again(
        database: Database, emulator: MicrosoftEmulator, ms_settings: Settings,
        caplog: pytest.LogCaptureFixture) -> None:
    redirect = browser(begin_sign_in(database, ms_settings.outlook(), name="Sales"))
    # A gateway's plain-text 429: MSAL cannot read it (and logs it, without a traceback).
    emulator.fail_token_requests(429, retry_after="0", as_json=False)
    with pytest.raises(SignInUnavailable, match="temporarily unavailable"):
        await complete_sign_in(database, ms_settings.outlook(), redirect)
    assert all(r.exc_info is None for r in caplog.records)
    assert connections.list_connections(database) == []
    connection = await complete_sign_in(database, ms_settings.outlook(), redirect)
    assert connection.ref == "outlook:sales"


async def test_declined_consent_is_a_clear_failure(
        database: Database, emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    emulator.world.deny_consent = True
    redirect = browser(begin_sign_in(database, ms_settings.outlook()))
    with pytest.raises(SignInFailed, match="access_denied AADSTS65004"):
        await complete_sign_in(database, ms_settings.outlook(), redirect)
    assert connections.list_connections(database) == []


@pytest.mark.parametrize(("error", "code", "suberror"), [
    ("invalid_grant", 700082, None),
    ("invalid_grant", 50173, None),
    ("interaction_required", 50076, None),
    ("invalid_grant", 65001, "consent_required"),
])
async def test_refresh_failure_needs_reconnect_and_reconnecting_restores_booking(
        database: Database, emulator: MicrosoftEmulator, ms_settings: Settings,
        error: str, code: int, suberror: str | None) -> None:
    connection = await connect(database, ms_settings, emulator, WORK)
    calendar = open_calendar(database, ms_settings.outlook(), connection.ref)
    assert calendar is not None
    await calendar.busy_times(DAY, DAY + timedelta(hours=8))
    emulator.fail_refresh(WORK, error, code, suberror)
    emulator.expire_access_tokens(WORK)
    with pytest.raises(CalendarUnavailable) as failure:
        await calendar.busy_times(DAY, DAY + timedelta(hours=8))
    assert failure.value.needs_reconnect
    marked = find_connection(database, connection.ref)
    assert marked.status == "needs_reconnect"
    assert marked.status_reason == f"{error} AADSTS{code}" + (f" ({suberror})" if suberror else "")
    assert not connection_usable(database, connection.ref)
    assert open_calendar(database, ms_settings.outlook(), connection.ref) is None

    emulator.heal_refresh(WORK)
    again = await connect(database, ms_settings, emulator, WORK)
    assert (again.id, again.status, again.status_reason) == (connection.id, "connected", None)
    calendar = open_calendar(database, ms_settings.outlook(), connection.ref)
    assert calendar is not None
    assert await calendar.busy_times(DAY, DAY + timedelta(hours=8)) == []


async def test_revoked_consent_is_found_by_the_background_refresher(
        database: Database, emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    await connect(database, ms_settings, emulator, WORK)
    await connect(database, ms_settings, emulator, PERSONAL)
    emulator.revoke_consent(WORK)
    stop = asyncio.Event()
    refresher = asyncio.create_task(
        keep_connections_alive(database, ms_settings.outlook(), stop, every_seconds=0.05))
    await asyncio.sleep(0.3)
    stop.set()
    await refresher
    work, personal = connections.list_connections(database)
    assert work.status == "needs_reconnect"
    assert work.status_reason == "invalid_grant AADSTS65001 (consent_required)"
    assert personal.status == "connected" and personal.refreshed_at is not None
    refreshes = emulator.requests("login", method="POST")
    assert len(refreshes) >= 4  # two sign-ins and at least one refresh round


async def test_disconnect_removes_tokens_and_leaves_campaigns_without_a_calendar(
        database: Database, emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    connection = await connect(database, ms_settings, emulator, WORK)
    gone = disconnect(database, connection.name)
    assert gone.status == "disconnected"
    with database.session() as session:
        assert session.execute(text("SELECT token_cache FROM outlook_connections")).scalar() \
            is None
    assert not connection_usable(database, connection.ref)
    assert open_calendar(database, ms_settings.outlook(), connection.ref) is None
    assert connection_usable(database, "local")


async def test_operator_picks_another_calendar_and_booking_lands_there(
        database: Database, emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    connection = await connect(database, ms_settings, emulator, WORK)
    calendars = await list_calendars(database, ms_settings.outlook(), connection.name)
    assert [c.name for c in calendars] == ["Calendar", "Sales demos"]
    chosen = set_calendar(database, connection.name, calendars[1])
    assert chosen.calendar_name == "Sales demos"
    calendar = open_calendar(database, ms_settings.outlook(), connection.ref)
    assert calendar is not None
    created = await calendar.create_event(NewEvent(
        idempotency_key="demo-1", subject="Demo", body="", start=DAY.replace(hour=9),
        end=DAY.replace(hour=10), attendees=[Attendee(email="sam@example.org")]))
    [event] = emulator.events(WORK)
    assert (event.id, event.calendar_id) == (created.event_id, calendars[1].id)
    # Reconnecting keeps the operator's choice.
    again = await connect(database, ms_settings, emulator, WORK)
    assert again.calendar_name == "Sales demos"
    assert again.calendar_is_default is False


async def test_booking_on_another_calendar_counts_the_owners_busy_time_on_the_default_one(
        database: Database, emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    connection = await connect(database, ms_settings, emulator, WORK)
    default, sales = await list_calendars(database, ms_settings.outlook(), connection.name)
    set_calendar(database, connection.name, sales)
    emulator.add_event(WORK, DAY.replace(hour=9), DAY.replace(hour=10), calendar_id=sales.id)
    emulator.add_event(WORK, DAY.replace(hour=11), DAY.replace(hour=12), subject="Dentist")
    emulator.add_event(WORK, DAY.replace(hour=14), DAY.replace(hour=15), show_as="free")
    calendar = open_calendar(database, ms_settings.outlook(), connection.ref)
    assert calendar is not None
    busy = await calendar.busy_times(DAY, DAY + timedelta(days=1))
    assert [b.start.hour for b in busy] == [9, 11]
    # Booking on the default calendar reads it once, not twice.
    set_calendar(database, connection.name, default)
    emulator.clear_log()
    calendar = open_calendar(database, ms_settings.outlook(), connection.ref)
    assert calendar is not None
    assert [b.start.hour for b in await calendar.busy_times(DAY, DAY + timedelta(days=1))] \
        == [11]
    assert len(emulator.requests(path_contains="calendarView")) == 1


async def test_a_calendar_the_operator_marks_as_blocking_keeps_its_busy_time_off_offers(
        database: Database, emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    emulator.add_account("kim@contoso.com", extra_calendars=("Sales demos", "Family"))
    connection = await connect(database, ms_settings, emulator, "kim@contoso.com")
    _, sales, family = await list_calendars(database, ms_settings.outlook(), connection.name)
    set_calendar(database, connection.name, sales)
    emulator.add_event("kim@contoso.com", DAY.replace(hour=16), DAY.replace(hour=17),
                       subject="School run", calendar_id=family.id)

    async def busy_hours() -> list[int]:
        calendar = open_calendar(database, ms_settings.outlook(), connection.ref)
        assert calendar is not None
        return [b.start.hour for b in await calendar.busy_times(DAY, DAY + timedelta(days=1))]

    assert await busy_hours() == []
    marked = connections.set_blocking(database, connection.name, family, blocking=True)
    assert [c.name for c in marked.blocking_calendars] == ["Family"]
    assert await busy_hours() == [16]
    # Reconnecting keeps the mark; unmarking drops it.
    await connect(database, ms_settings, emulator, "kim@contoso.com")
    assert await busy_hours() == [16]
    connections.set_blocking(database, connection.name, family, blocking=False)
    assert await busy_hours() == []


async def test_a_blocking_calendar_that_cannot_be_read_makes_the_calendar_unavailable(
        database: Database, emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    connection = await connect(database, ms_settings, emulator, WORK)
    _, sales = await list_calendars(database, ms_settings.outlook(), connection.name)
    set_calendar(database, connection.name, sales)
    emulator.queue_fault(404, "ErrorItemNotFound", path_contains="/me/calendar/")
    calendar = open_calendar(database, ms_settings.outlook(), connection.ref)
    assert calendar is not None
    with pytest.raises(CalendarUnavailable, match="blocks booking cannot be read"):
        await calendar.busy_times(DAY, DAY + timedelta(days=1))


async def test_unknown_connection_names_are_a_clear_error(
        database: Database, ms_settings: Settings) -> None:
    with pytest.raises(connections.ConnectionNotFound, match="nobody"):
        open_calendar(database, ms_settings.outlook(), "outlook:nobody")
    assert not connection_usable(database, "outlook:nobody")
    with pytest.raises(ValueError, match="not an Outlook calendar"):
        open_calendar(database, ms_settings.outlook(), "local")


async def test_a_wrong_token_key_makes_the_calendar_unavailable_without_marking_it(
        database: Database, emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    connection = await connect(database, ms_settings, emulator, WORK)
    wrong = ms_settings.model_copy(
        update={"token_key": SecretStr(Fernet.generate_key().decode())})
    calendar = open_calendar(database, wrong.outlook(), connection.ref)
    with pytest.raises(CalendarUnavailable, match="cannot be decrypted"):
        await calendar.busy_times(DAY, DAY + timedelta(hours=1))
    assert find_connection(database, connection.ref).status == "connected"


async def test_refresh_picks_up_the_owners_new_time_zone(
        database: Database, emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    connection = await connect(database, ms_settings, emulator, WORK)
    emulator.world.account(WORK).time_zone = "Tokyo Standard Time"
    [refreshed] = await connections.refresh_all(database, ms_settings.outlook())
    assert refreshed.problem is None
    assert refreshed.connection.owner_zone == "Asia/Tokyo"
    assert refreshed.connection.refreshed_at > connection.refreshed_at
