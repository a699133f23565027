"""Calendars per organisation member over the operator API (seed 002): each member connects
their own Outlook and Google calendars through the real sign-in (MSAL, authlib against the
emulators), the redirect landing on this server; the most recently connected provider is
active, switching needs no new sign-in, disconnecting the active one falls back to the
other, and with none left campaigns booking on the member say why they cannot book."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import text

from app.bootstrap import connect_calendar, outlook_notifications
from app.campaign_files import parse_campaign
from app.console import create_console
from app.harness import CalendarSpec, CallerSpec, run_call, scripted_input
from app.operator_api import create_operator_api
from app.operators.accounts import create_api_key, create_operator
from app.operators.test_calls import TestCalls
from app.settings import Settings
from calendar_backend import member_calendars
from calendar_backend.calendar_sync import SyncStatus
from calendar_backend.google import sync as google_sync
from calendar_backend.google.channels import ensure_channel
from calendar_backend.google.connections import find_connection as find_google_connection
from calendar_backend.outlook import sync as outlook_sync
from calendar_backend.outlook.connections import find_connection as find_outlook_connection
from calendar_backend.outlook.sign_in import begin_sign_in, complete_sign_in
from calendar_backend.outlook.subscriptions import ensure_subscription
from storage.database import Database
from tests.calendar_helpers import BOOKS_THE_FIRST_TIME, agent_lines, browser, video_campaign
from tests.fakes import both_calendars
from tests.fakes.google import GoogleEmulator
from tests.fakes.google import fixtures as google_fixtures
from tests.fakes.loopback import BackgroundServer, free_port
from tests.fakes.microsoft import MicrosoftEmulator
from tests.test_operator_api import DEMO
from tests.test_operator_test_calls import CALLER as TEST_CALLER

emulator, google, settings = both_calendars.emulator, both_calendars.google, \
    both_calendars.settings

WORK, GMAIL = "adele@contoso.com", google_fixtures.OWNER
# Monday 4 March 2030, 08:00 in Los Angeles (Adele's mailbox zone).
NOW = datetime(2030, 3, 4, 16, 0, tzinfo=UTC)
CALLER = CallerSpec(number="+12125550100", first_name="Sam", last_name="Caller")


@pytest.fixture
def client(database: Database, settings: Settings) -> Iterator[TestClient]:
    test_calls = TestCalls(database, settings)
    app = FastAPI()
    app.mount("/api/v1", create_operator_api(database, settings, test_calls))
    app.mount("/console", create_console(database, test_calls, settings=settings))
    with TestClient(app) as client:
        yield client


class Org:
    """An organisation's API key, one of its members, and a client sending the key."""

    def __init__(self, database: Database, client: TestClient, name: str) -> None:
        made = create_operator(database, f"owner@{name.lower()}.example", "long enough pw",
                               name)
        _, self.key = create_api_key(database, made.organisation, "tests")
        self.client, self.member, self.organisation = client, made.id, made.organisation

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.key}"}
        return self.client.request(method, f"/api/v1{path}", headers=headers, **kwargs)

    def calendars(self) -> dict[str, Any]:
        answer = self.request("GET", f"/members/{self.member}/calendars")
        assert answer.status_code == 200, answer.text
        return answer.json()

    def connect(self, provider: str, emu: MicrosoftEmulator | GoogleEmulator,
                account: str) -> httpx.Response:
        """The member starts connecting; their browser signs in and comes back here."""
        started = self.request("POST", f"/members/{self.member}/calendars/{provider}/connect")
        assert started.status_code == 201, started.text
        emu.sign_in_as(account)
        back = browser(started.json()["sign_in_url"])
        assert back.startswith(started.json()["redirect_uri"] + "?")
        return self.client.get(back)


@pytest.fixture
def acme(database: Database, client: TestClient) -> Org:
    return Org(database, client, "Acme")


@pytest.fixture
def globex(database: Database, client: TestClient) -> Org:
    return Org(database, client, "Globex")


def by_provider(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["provider"]: c for c in view["connections"]}


def test_a_member_connects_outlook_and_the_redirect_lands_on_this_server(
        acme: Org, emulator: MicrosoftEmulator) -> None:
    landed = acme.connect("outlook", emulator, WORK)
    assert landed.status_code == 200
    assert "Outlook Calendar connected" in landed.text and WORK in landed.text
    view = acme.calendars()
    [outlook] = view["connections"]
    assert outlook | {"connected_at": None} == {
        "provider": "outlook", "status": "connected", "status_reason": None,
        "account": WORK, "account_type": "work", "time_zone": "America/Los_Angeles",
        "calendar_id": emulator.world.account(WORK).calendar(None).id,
        "calendar_name": "Calendar", "active": True, "connected_at": None}
    assert view["active_provider"] == "outlook"
    assert view["calendar_ref"] == f"member:{acme.member}" and view["booking_usable"]
    # The sign-in went to the emulator with this server's callback as the redirect URI.
    [authorize] = emulator.requests("login", path_contains="authorize")
    assert authorize.query["redirect_uri"] == \
        "http://testserver/console/calendars/outlook/callback"
    members = acme.request("GET", "/members").json()["members"]
    assert members == [{"id": acme.member, "email": "owner@acme.example",
                        "calendar_ref": f"member:{acme.member}", "active_provider": "outlook",
                        "has_calendar": True}]


def test_the_most_recently_connected_provider_is_active_and_switching_needs_no_sign_in(
        acme: Org, emulator: MicrosoftEmulator, google: GoogleEmulator) -> None:
    acme.connect("outlook", emulator, WORK)
    acme.connect("google", google, GMAIL)
    view = acme.calendars()
    assert view["active_provider"] == "google"
    assert {p: c["active"] for p, c in by_provider(view).items()} == {
        "outlook": False, "google": True}
    assert by_provider(view)["google"]["account_type"] == "google"
    assert by_provider(view)["google"]["time_zone"] == "America/New_York"
    sign_ins = len(emulator.requests("login")) + len(google.requests("oauth"))

    switched = acme.request("PUT", f"/members/{acme.member}/calendars/active",
                            json={"provider": "outlook"})

    assert switched.status_code == 200, switched.text
    assert switched.json()["active_provider"] == "outlook"
    assert by_provider(switched.json())["outlook"]["active"]
    assert len(emulator.requests("login")) + len(google.requests("oauth")) == sign_ins


def test_switching_to_a_provider_never_connected_is_refused_and_changes_nothing(
        acme: Org, emulator: MicrosoftEmulator) -> None:
    acme.connect("outlook", emulator, WORK)
    refused = acme.request("PUT", f"/members/{acme.member}/calendars/active",
                           json={"provider": "google"})
    assert refused.status_code == 409
    assert "no Google calendar connected" in refused.json()["detail"]
    assert acme.calendars()["active_provider"] == "outlook"
    unknown = acme.request("PUT", f"/members/{acme.member}/calendars/active",
                           json={"provider": "icloud"})
    assert unknown.status_code == 422 and unknown.json()["problems"][0]["path"] == "provider"


def test_disconnecting_the_active_provider_falls_back_then_booking_stops_and_says_why(
        database: Database, settings: Settings, acme: Org, emulator: MicrosoftEmulator,
        google: GoogleEmulator) -> None:
    acme.connect("outlook", emulator, WORK)
    acme.connect("google", google, GMAIL)
    campaign = video_campaign(f"member:{acme.member}")

    after_google = acme.request("DELETE", f"/members/{acme.member}/calendars/google")

    assert after_google.status_code == 200, after_google.text
    assert after_google.json()["active_provider"] == "outlook"
    assert [c["provider"] for c in after_google.json()["connections"]] == ["outlook"]
    assert google.requests("oauth", path_contains="revoke")  # Google's grant went too
    fallback = connect_calendar(campaign, database, settings,
                                organisation_id=acme.organisation.id)
    assert fallback.usable and fallback.reference == "outlook:adele@contoso.com"

    after_outlook = acme.request("DELETE", f"/members/{acme.member}/calendars/outlook")

    view = after_outlook.json()
    assert view["active_provider"] is None and view["connections"] == []
    assert not view["booking_usable"]
    assert "no calendar connected" in view["booking_unavailable_reason"]
    with database.session() as session:
        tokens = session.execute(text(
            "SELECT count(*) FROM outlook_connections WHERE token_cache IS NOT NULL")).scalar()
    assert tokens == 0
    unusable = connect_calendar(campaign, database, settings,
                                organisation_id=acme.organisation.id)
    assert not unusable.usable and "no calendar connected" in (unusable.reason or "")
    again = acme.request("DELETE", f"/members/{acme.member}/calendars/outlook")
    assert again.status_code == 404


async def test_a_campaign_on_a_member_books_on_their_active_calendar_and_skips_booking_without(
        database: Database, settings: Settings, acme: Org, emulator: MicrosoftEmulator) -> None:
    acme.connect("outlook", emulator, WORK)
    campaign = video_campaign(f"member:{acme.member}")

    result, session = await run_call(
        campaign, database=database, settings=settings, caller=CALLER,
        next_line=scripted_input(list(BOOKS_THE_FIRST_TIME)), now=NOW,
        calendar=CalendarSpec(use="campaign"), policy="guided",
        organisation_id=acme.organisation.id)

    assert result.outcome == "booked", agent_lines(result)
    [event] = emulator.events(WORK)
    booking = session.active_booking()
    assert booking is not None and booking.event_id == event.id
    assert booking.online_meeting_url == event.data["onlineMeeting"]["joinUrl"]
    # Kept under the real calendar: the race and the crash settling are per calendar.
    assert booking.calendar_id == "outlook:adele@contoso.com"

    acme.request("DELETE", f"/members/{acme.member}/calendars/outlook")
    result, _ = await run_call(
        campaign, database=database, settings=settings, caller=CALLER,
        next_line=scripted_input(list(BOOKS_THE_FIRST_TIME)), now=NOW,
        calendar=CalendarSpec(use="campaign"), policy="guided",
        organisation_id=acme.organisation.id)
    assert result.bookings == [] and len(emulator.events(WORK)) == 1
    assert "no calendar connected" in (result.booking_unavailable or "")


def test_a_member_lists_the_accounts_calendars_and_chooses_one(
        acme: Org, emulator: MicrosoftEmulator, google: GoogleEmulator) -> None:
    acme.connect("outlook", emulator, WORK)
    acme.connect("google", google, GMAIL)
    for provider in ("outlook", "google"):
        listed = acme.request("GET", f"/members/{acme.member}/calendars/{provider}/calendars")
        assert listed.status_code == 200, listed.text
        calendars = {c["name"]: c for c in listed.json()["calendars"]}
        assert "Sales demos" in calendars
        assert sum(c["chosen"] for c in calendars.values()) == 1
        demos = calendars["Sales demos"]["id"]

        chosen = acme.request("PUT", f"/members/{acme.member}/calendars/{provider}/calendar",
                              json={"calendar_id": demos})

        assert chosen.status_code == 200, chosen.text
        assert chosen.json()["calendar_name"] == "Sales demos"
        assert by_provider(acme.calendars())[provider]["calendar_id"] == demos
        unknown = acme.request("PUT", f"/members/{acme.member}/calendars/{provider}/calendar",
                               json={"calendar_id": "no-such-calendar"})
        assert unknown.status_code == 409
        assert by_provider(acme.calendars())[provider]["calendar_id"] == demos


def test_upcoming_events_are_listed_from_the_chosen_calendar(
        acme: Org, emulator: MicrosoftEmulator, google: GoogleEmulator) -> None:
    acme.connect("outlook", emulator, WORK)
    acme.connect("google", google, GMAIL)
    soon = datetime.now(UTC).replace(microsecond=0, second=0) + timedelta(days=1)
    emulator.add_event(WORK, soon, soon + timedelta(hours=1), subject="Dentist")
    emulator.add_event(WORK, soon + timedelta(days=30), soon + timedelta(days=30, hours=1),
                       subject="Far away")
    google.add_event(GMAIL, soon + timedelta(hours=2), soon + timedelta(hours=3),
                     summary="Lunch", transparent=True)

    outlook = acme.request("GET", f"/members/{acme.member}/calendars/outlook/events")
    google_events = acme.request("GET",
                                 f"/members/{acme.member}/calendars/google/events?days=7")

    assert outlook.status_code == 200, outlook.text
    assert [(e["subject"], e["start"]) for e in outlook.json()["events"]] == [
        ("Dentist", soon.isoformat().replace("+00:00", "Z"))]
    assert google_events.status_code == 200, google_events.text
    [lunch] = google_events.json()["events"]
    assert (lunch["subject"], lunch["show_as"]) == ("Lunch", "free")
    assert datetime.fromisoformat(lunch["start"]) == soon + timedelta(hours=2)
    too_far = acme.request("GET", f"/members/{acme.member}/calendars/google/events?days=400")
    assert too_far.status_code == 422


def test_a_revoked_grant_shows_needs_reconnect_with_the_reason(
        acme: Org, google: GoogleEmulator) -> None:
    acme.connect("google", google, GMAIL)
    google.revoke_grant(GMAIL)
    google.expire_access_tokens(GMAIL)

    events = acme.request("GET", f"/members/{acme.member}/calendars/google/events")

    assert events.status_code == 409
    view = acme.calendars()
    [card] = view["connections"]
    assert card["status"] == "needs_reconnect" and card["status_reason"]
    assert not view["booking_usable"]
    assert "expired" in view["booking_unavailable_reason"]


def test_another_organisations_member_is_not_found_and_a_keyless_request_unauthorised(
        acme: Org, globex: Org, client: TestClient, emulator: MicrosoftEmulator) -> None:
    acme.connect("outlook", emulator, WORK)
    theirs = f"/members/{acme.member}/calendars"
    for method, path in [("GET", theirs), ("POST", f"{theirs}/outlook/connect"),
                         ("GET", f"{theirs}/outlook/calendars"),
                         ("GET", f"{theirs}/outlook/events"),
                         ("DELETE", f"{theirs}/outlook")]:
        answer = globex.request(method, path)
        assert answer.status_code == 404, (method, path, answer.text)
        assert answer.json()["detail"] == "no such member"
    assert client.get(f"/api/v1{theirs}").status_code == 401
    assert [m["email"] for m in globex.request("GET", "/members").json()["members"]] == [
        "owner@globex.example"]
    assert acme.calendars()["connections"][0]["status"] == "connected"


def test_a_campaign_may_book_only_on_a_member_of_its_own_organisation(
        acme: Org, globex: Org) -> None:
    def campaign(calendar: str, name: str) -> dict[str, Any]:
        return {"name": name, "business_name": "Acme Dental",
                "booking": {"enabled": True, "calendar": calendar}}

    ours = acme.request("POST", "/campaigns", json=campaign(f"member:{acme.member}", "ours"))
    assert ours.status_code == 201, ours.text
    assert ours.json()["document"]["booking"]["calendar"] == f"member:{acme.member}"

    for calendar in (f"member:{globex.member}", "member:nobody", "member:"):
        refused = acme.request("POST", "/campaigns", json=campaign(calendar, "theirs"))
        assert refused.status_code == 422, refused.text
        assert [p["path"] for p in refused.json()["problems"]] == ["booking.calendar"]
    # Every problem at once: the member's and the campaign's own.
    both = acme.request("POST", "/campaigns", json={
        "name": "both", "booking": {"enabled": True, "calendar": f"member:{globex.member}",
                                    "meeting_length_minutes": 0}})
    assert {p["path"] for p in both.json()["problems"]} == {
        "booking.calendar", "booking.meeting_length_minutes"}
    moved = acme.request("PATCH", f"/campaigns/{ours.json()['id']}",
                         json={"booking": {"calendar": f"member:{globex.member}"}})
    assert moved.status_code == 422
    assert [c["name"] for c in acme.request("GET", "/campaigns").json()["campaigns"]] == ["ours"]


async def test_an_account_connected_server_wide_is_not_taken_by_a_member(
        database: Database, settings: Settings, acme: Org, emulator: MicrosoftEmulator) -> None:
    emulator.sign_in_as(WORK)
    config = settings.outlook()
    cli = await complete_sign_in(database, config, browser(begin_sign_in(database, config)))

    landed = acme.connect("outlook", emulator, WORK)

    assert landed.status_code == 400
    assert "already connected for this server" in landed.text
    assert acme.calendars()["connections"] == []
    # The CLI's connection is untouched and still books for the CLI's campaigns.
    connection = connect_calendar(parse_campaign({
        "name": "cli", "booking": {"enabled": True, "calendar": cli.ref}}), database, settings)
    assert connection.usable


def test_connecting_without_the_providers_app_configured_is_a_clear_refusal(
        database: Database, acme: Org, settings: Settings, client: TestClient) -> None:
    settings.microsoft_client_id = None
    refused = acme.request("POST", f"/members/{acme.member}/calendars/outlook/connect")
    assert refused.status_code == 409
    assert "BOOKING_AGENT_MICROSOFT_CLIENT_ID" in refused.json()["detail"]


def test_a_declined_consent_lands_on_a_clear_refusal_and_saves_nothing(
        acme: Org, google: GoogleEmulator) -> None:
    with google.world.lock:
        google.world.deny_consent = True

    landed = acme.connect("google", google, GMAIL)

    assert landed.status_code == 400
    assert "Google Calendar not connected" in landed.text and "access_denied" in landed.text
    assert acme.calendars()["connections"] == []
    assert acme.calendars()["active_provider"] is None


def test_a_callback_without_a_sign_in_of_ours_is_refused(acme: Org, client: TestClient) -> None:
    for query in ("", "?state=forged&code=abc", "?code=abc"):
        answer = client.get(f"/console/calendars/outlook/callback{query}")
        assert answer.status_code == 400, query
        assert "Outlook Calendar not connected" in answer.text
    assert client.get("/console/calendars/icloud/callback?state=x").status_code == 404
    assert acme.calendars()["connections"] == []


def test_connecting_another_outlook_account_replaces_the_members_earlier_one(
        database: Database, acme: Org, emulator: MicrosoftEmulator) -> None:
    acme.connect("outlook", emulator, WORK)
    acme.connect("outlook", emulator, "julie@outlook.com")

    [card] = acme.calendars()["connections"]
    assert (card["account"], card["account_type"], card["active"]) == (
        "julie@outlook.com", "personal", True)
    with database.session() as session:
        rows = session.execute(text(
            "SELECT username, status, token_cache IS NULL FROM outlook_connections "
            "ORDER BY username")).all()
    assert [tuple(r) for r in rows] == [(WORK, "disconnected", True),
                                        ("julie@outlook.com", "connected", False)]


@hypothesis_settings(max_examples=30, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(owner=st.text(max_size=60))
def test_any_calendar_owner_is_accepted_or_refused_by_path_never_a_server_error(
        acme: Org, owner: str) -> None:
    before = acme.request("GET", "/campaigns").json()["campaigns"]

    answer = acme.request("POST", "/campaigns", json={
        "name": f"c-{uuid.uuid4().hex[:8]}", "booking": {"calendar": f"member:{owner}"}})

    assert answer.status_code in (201, 422), answer.text
    after = acme.request("GET", "/campaigns").json()["campaigns"]
    if owner.strip() == acme.member:
        assert answer.status_code == 201
    else:
        assert answer.status_code == 422 and after == before
        assert "booking.calendar" in [p["path"] for p in answer.json()["problems"]]


def test_a_sign_in_started_for_another_member_is_refused_in_a_signed_in_browser(
        database: Database, acme: Org, client: TestClient, emulator: MicrosoftEmulator) -> None:
    bob = create_operator(database, "bob@acme.example", "long enough pw", "Acme")
    started = acme.request("POST", f"/members/{acme.member}/calendars/outlook/connect")
    emulator.sign_in_as(WORK)
    back = browser(started.json()["sign_in_url"])
    signed_in = client.post("/console/login", data={
        "email": "bob@acme.example", "password": "long enough pw",
        "csrf": _csrf(client)}, follow_redirects=False)
    assert signed_in.status_code == 303

    landed = client.get(back, follow_redirects=False)

    assert landed.status_code == 400 and "started for another member" in landed.text
    assert acme.calendars()["connections"] == []
    assert bob.id != acme.member


def _csrf(client: TestClient) -> str:
    page = client.get("/console/login").text
    return page.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def test_a_test_call_of_a_campaign_whose_owner_has_no_calendar_says_why(
        acme: Org, emulator: MicrosoftEmulator) -> None:
    acme.connect("outlook", emulator, WORK)
    made = acme.request("POST", "/campaigns", json={
        "name": "owner-calendar", "business_name": "Acme Dental",
        "booking": {"enabled": True, "calendar": f"member:{acme.member}"}})
    assert made.status_code == 201, made.text
    campaign_id = made.json()["id"]
    started = acme.request("POST", "/test-calls", json={"campaign_id": campaign_id})
    assert started.status_code == 201 and started.json()["booking_unavailable"] is None
    acme.request("POST", f"/test-calls/{started.json()['id']}/hang-up")

    acme.request("DELETE", f"/members/{acme.member}/calendars/outlook")
    started = acme.request("POST", "/test-calls", json={"campaign_id": campaign_id})

    assert started.status_code == 201, started.text
    assert "no calendar connected" in started.json()["booking_unavailable"]
    ended = acme.request("POST", f"/test-calls/{started.json()['id']}/hang-up").json()
    assert ended["ended"] and "no calendar connected" in ended["booking_unavailable"]


def _book_on_the_members_calendar(org: Org, emulator: MicrosoftEmulator | GoogleEmulator,
                                 provider: str = "outlook") -> dict[str, Any]:
    """The member connects Outlook (or Google); a test call of a campaign on them books;
    the booking."""
    org.connect(provider, emulator, WORK if provider == "outlook" else GMAIL)
    document = yaml.safe_load(DEMO.read_text())
    document["booking"]["calendar"] = f"member:{org.member}"
    made = org.request("POST", "/campaigns", json=document)
    assert made.status_code == 201, made.text
    started = org.request("POST", "/test-calls", json={
        "campaign_id": made.json()["id"], "caller_number": "+18885550147",
        "first_name": "Chris"})
    state = started.json()
    for said in TEST_CALLER:
        if state["ended"]:
            break
        state = org.request("POST", f"/test-calls/{state['id']}/say",
                            json={"text": said}).json()
    assert state["outcome"] == "booked", state
    [booking] = org.request("GET", "/bookings").json()["bookings"]
    return booking


def test_a_booking_on_a_members_calendar_is_cancelled_there_and_the_attendee_told(
        acme: Org, globex: Org, emulator: MicrosoftEmulator) -> None:
    booking = _book_on_the_members_calendar(acme, emulator)
    assert booking["calendar_id"] == "outlook:adele@contoso.com"
    [event] = emulator.events(WORK)
    assert globex.request("POST", f"/bookings/{booking['id']}/cancel").status_code == 404

    cancelled = acme.request("POST", f"/bookings/{booking['id']}/cancel")

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert emulator.events(WORK) == []
    assert [e.id for e in emulator.events(WORK, include_deleted=True)] == [event.id]
    assert emulator.requests("graph", method="POST", path_contains="/cancel")


def test_a_campaign_file_naming_a_member_outside_an_organisation_says_why_it_cannot_book(
        database: Database, settings: Settings, acme: Org, emulator: MicrosoftEmulator) -> None:
    acme.connect("outlook", emulator, WORK)
    campaign = video_campaign(f"member:{acme.member}")

    from_the_cli = connect_calendar(campaign, database, settings)

    assert not from_the_cli.usable
    assert "only that organisation's campaigns" in (from_the_cli.reason or "")


@pytest.mark.parametrize("provider", ["outlook", "google"])
def test_a_manual_sync_finds_the_owner_deleted_the_booked_meeting(
        acme: Org, globex: Org, emulator: MicrosoftEmulator, google: GoogleEmulator,
        provider: str) -> None:
    emu = emulator if provider == "outlook" else google
    booking = _book_on_the_members_calendar(acme, emu, provider)
    base = f"/members/{acme.member}/calendars/{provider}"
    first = acme.request("POST", f"{base}/sync")
    assert first.status_code == 200, first.text
    listed = acme.request("GET", f"{base}/synced-events")
    assert [e["event_id"] for e in listed.json()["events"]] == [booking["event_id"]]
    assert listed.json()["synced_at"] is not None
    assert globex.request("POST", f"{base}/sync").status_code == 404

    emu.owner_deletes(WORK if provider == "outlook" else GMAIL, booking["event_id"])
    second = acme.request("POST", f"{base}/sync")

    assert second.status_code == 200, second.text
    assert second.json()["cancelled_by_owner"] == [booking["id"]]
    assert acme.request("GET", f"/bookings/{booking['id']}").json()["status"] \
        == "cancelled_by_owner"
    assert acme.request("GET", f"{base}/synced-events").json()["events"] == []


async def test_disconnecting_a_members_google_calendar_stops_its_push_channel_first(
        database: Database, settings: Settings, acme: Org, google: GoogleEmulator) -> None:
    acme.connect("google", google, GMAIL)
    base = f"/members/{acme.member}/calendars/google"
    assert acme.request("POST", f"{base}/sync").status_code == 200
    ref = member_calendars.connection(database, acme.member, "google").ref
    # Where the channel notifies does not matter here: nobody listens there.
    await ensure_channel(database, settings.google(), ref,
                         f"http://127.0.0.1:{free_port()}/google/notifications")
    [channel] = google.channels(GMAIL)

    answer = acme.request("DELETE", base)

    assert answer.status_code == 200, answer.text
    assert answer.json()["connections"] == []
    assert [(c.id, c.resource_id) for c in google.stopped_channels(GMAIL)] \
        == [(channel.id, channel.resource_id)]
    # Stopped while the grant still allowed it, then the grant was revoked.
    assert [r.service for r in google.world.log
            if "channels/stop" in r.path or "revoke" in r.path] == ["calendar", "oauth"]
    assert google_sync.sync_status(database, ref) == SyncStatus(None, None, None,
                                                                            None)
    assert google_sync.synced_events(database, ref) == []


def test_syncing_a_member_without_outlook_is_not_found(acme: Org) -> None:
    answer = acme.request("POST", f"/members/{acme.member}/calendars/outlook/sync")
    assert answer.status_code == 404 and "Outlook" in answer.json()["detail"]


def test_the_booking_step_books_round_robin_on_the_members_ticked(
        database: Database, acme: Org, client: TestClient, emulator: MicrosoftEmulator,
        google: GoogleEmulator) -> None:
    acme.connect("outlook", emulator, WORK)
    ben = create_operator(database, "ben.jones@acme.example", "long enough pw", "Acme")
    acme.member, mine = ben.id, acme.member
    acme.connect("google", google, GMAIL)
    signed_in = client.post("/console/login", data={
        "email": "owner@acme.example", "password": "long enough pw",
        "csrf": _csrf(client)}, follow_redirects=False)
    assert signed_in.status_code == 303
    page = client.get("/console/campaigns/new").text
    assert "Round-robin" in page and 'value="Ben"' in page
    token = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    form = {"csrf": token, "name": "team", "business_name": "Acme Dental", "enabled": "on",
            "timezone": "America/New_York", "calendar": "pool", "meeting_type": "video",
            "days": "mon"}

    nobody = client.post("/console/campaigns", data=form, follow_redirects=False)
    saved = client.post("/console/campaigns", data=form | {
        "pool": [f"member:{mine}", f"member:{ben.id}"], f"pool_name:member:{mine}": "Adele",
        f"pool_name:member:{ben.id}": "Ben", "say_member_name": "on"},
        follow_redirects=False)

    assert nobody.status_code == 422 and "booking.pool" in nobody.text
    assert saved.status_code == 303, saved.text
    [campaign] = acme.request("GET", "/campaigns").json()["campaigns"]
    booking = campaign["document"]["booking"]
    assert booking["pool"] == [{"name": "Adele", "calendar": f"member:{mine}"},
                               {"name": "Ben", "calendar": f"member:{ben.id}"}]
    assert booking["say_member_name"] is True and "calendar" not in booking
    shown = client.get(f"/console/campaigns/{campaign['id']}").text
    assert '<option value="pool" selected>' in shown
    # A test call of it books on one of the two members' own calendars, under its name.
    state = acme.request("POST", "/test-calls", json={
        "campaign_id": campaign["id"], "caller_number": "+18885550147",
        "first_name": "Chris"}).json()
    for said in TEST_CALLER:
        if state["ended"]:
            break
        state = acme.request("POST", f"/test-calls/{state['id']}/say",
                             json={"text": said}).json()
    assert state["outcome"] == "booked", state
    [booked] = acme.request("GET", "/bookings").json()["bookings"]
    assert (booked["calendar_id"], booked["member"]) in (
        (f"outlook:{WORK}", "Adele"), (f"google:{GMAIL}", "Ben"))
    said = acme.request("GET", f"/calls/{state['id']}").json()["transcript"]
    assert any(" with Adele" in t["text"] or " with Ben" in t["text"] for t in said
               if t["role"] == "agent")


@pytest.fixture
def graph_receiver(database: Database, settings: Settings) -> Iterator[str]:
    """The call server's Graph notification route on loopback (Graph subscribes only after
    its handshake there is answered); yields that URL."""
    port = free_port()
    served = settings.model_copy(update={"public_url": f"http://127.0.0.1:{port}"})
    app = FastAPI()
    app.include_router(outlook_notifications(database, served))
    server = BackgroundServer(app, port, name="graph-receiver").start()
    try:
        yield served.outlook_follow().notification_url or ""
    finally:
        server.stop()


async def _followed_outlook(database: Database, settings: Settings, acme: Org,
                            emulator: MicrosoftEmulator, receiver: str) -> str:
    """Acme's member connects WORK's Outlook, syncs it (one event) and subscribes to its
    changes; the connection's reference."""
    soon = datetime.now(UTC).replace(microsecond=0, second=0) + timedelta(days=1)
    emulator.add_event(WORK, soon, soon + timedelta(hours=1), subject="Dentist")
    acme.connect("outlook", emulator, WORK)
    assert acme.request("POST", f"/members/{acme.member}/calendars/outlook/sync"
                        ).status_code == 200
    ref = member_calendars.connection(database, acme.member, "outlook").ref
    await ensure_subscription(database, settings.outlook(), ref, receiver)
    assert len(outlook_sync.synced_events(database, ref)) == 1
    return ref


async def test_connecting_another_outlook_account_deletes_the_old_subscription(
        database: Database, settings: Settings, acme: Org, emulator: MicrosoftEmulator,
        graph_receiver: str) -> None:
    old = await _followed_outlook(database, settings, acme, emulator, graph_receiver)
    [sub] = emulator.subscriptions(WORK)

    landed = acme.connect("outlook", emulator, "julie@outlook.com")

    assert landed.status_code == 200, landed.text
    [card] = acme.calendars()["connections"]
    assert (card["account"], card["active"]) == ("julie@outlook.com", True)
    # Deleted at Graph with the old account's tokens, then its tokens and synced copy went.
    assert [s.id for s in emulator.deleted_subscriptions(WORK)] == [sub.id]
    assert emulator.subscriptions(WORK) == []
    assert outlook_sync.sync_status(database, old) == SyncStatus(
        None, None, None, None)
    assert outlook_sync.synced_events(database, old) == []
    replaced = find_outlook_connection(database, old)
    assert (replaced.status, replaced.status_reason) == ("disconnected",
                                                         "replaced by another account")


async def test_connecting_another_outlook_account_completes_when_graph_keeps_the_old_one(
        database: Database, settings: Settings, acme: Org, emulator: MicrosoftEmulator,
        graph_receiver: str, caplog: pytest.LogCaptureFixture) -> None:
    old = await _followed_outlook(database, settings, acme, emulator, graph_receiver)
    [sub] = emulator.subscriptions(WORK)
    emulator.queue_fault(400, "InvalidRequest", method="DELETE",
                         path_contains="subscriptions")
    caplog.set_level(logging.WARNING)

    landed = acme.connect("outlook", emulator, "julie@outlook.com")

    assert landed.status_code == 200, landed.text
    assert acme.calendars()["connections"][0]["account"] == "julie@outlook.com"
    assert emulator.deleted_subscriptions() == [] and emulator.subscriptions(WORK) == [sub]
    assert f"Graph did not delete the subscription of {old} (HTTP 400 InvalidRequest)" \
        in caplog.text
    assert sub.client_state and sub.client_state not in caplog.text
    assert outlook_sync.synced_events(database, old) == []
    assert find_outlook_connection(database, old).status == "disconnected"


async def test_reconnecting_the_same_account_keeps_its_subscription(
        database: Database, settings: Settings, acme: Org, emulator: MicrosoftEmulator,
        graph_receiver: str) -> None:
    ref = await _followed_outlook(database, settings, acme, emulator, graph_receiver)
    [sub] = emulator.subscriptions(WORK)
    followed = outlook_sync.sync_status(database, ref), outlook_sync.synced_events(database, ref)

    landed = acme.connect("outlook", emulator, WORK)

    assert landed.status_code == 200, landed.text
    assert emulator.deleted_subscriptions() == [] and emulator.subscriptions(WORK) == [sub]
    assert (outlook_sync.sync_status(database, ref),
            outlook_sync.synced_events(database, ref)) == followed
    assert find_outlook_connection(database, ref).status == "connected"


async def _followed_google(database: Database, settings: Settings, acme: Org,
                           google: GoogleEmulator) -> str:
    """Acme's member connects Grace's Google, syncs it (one event) and watches its changes;
    the connection's reference."""
    soon = datetime.now(UTC).replace(microsecond=0, second=0) + timedelta(days=1)
    google.add_event(GMAIL, soon, soon + timedelta(hours=1), summary="Lunch")
    acme.connect("google", google, GMAIL)
    assert acme.request("POST", f"/members/{acme.member}/calendars/google/sync"
                        ).status_code == 200
    ref = member_calendars.connection(database, acme.member, "google").ref
    # Where the channel notifies does not matter here: nobody listens there.
    await ensure_channel(database, settings.google(), ref,
                         f"http://127.0.0.1:{free_port()}/google/notifications")
    assert len(google_sync.synced_events(database, ref)) == 1
    return ref


async def test_connecting_another_google_account_stops_the_old_channel(
        database: Database, settings: Settings, acme: Org, google: GoogleEmulator) -> None:
    old = await _followed_google(database, settings, acme, google)
    [channel] = google.channels(GMAIL)
    google.add_account("ada@gmail.com", display_name="Ada Lovelace", time_zone="Europe/London")

    landed = acme.connect("google", google, "ada@gmail.com")

    assert landed.status_code == 200, landed.text
    [card] = acme.calendars()["connections"]
    assert (card["account"], card["active"]) == ("ada@gmail.com", True)
    assert [(c.id, c.resource_id) for c in google.stopped_channels(GMAIL)] \
        == [(channel.id, channel.resource_id)]
    # Stopped while the old grant still allowed it, then that grant was revoked.
    assert [r.service for r in google.world.log
            if "channels/stop" in r.path or "revoke" in r.path] == ["calendar", "oauth"]
    assert google_sync.sync_status(database, old) == SyncStatus(None, None, None,
                                                                             None)
    assert google_sync.synced_events(database, old) == []
    replaced = find_google_connection(database, old)
    assert (replaced.status, replaced.status_reason) == ("disconnected",
                                                         "replaced by another account")


async def test_reconnecting_the_same_google_account_keeps_its_channel(
        database: Database, settings: Settings, acme: Org, google: GoogleEmulator) -> None:
    ref = await _followed_google(database, settings, acme, google)
    followed = google_sync.sync_status(database, ref), google_sync.synced_events(database, ref)

    landed = acme.connect("google", google, GMAIL)

    assert landed.status_code == 200, landed.text
    assert google.stopped_channels() == [] and len(google.channels(GMAIL)) == 1
    assert not google.requests("oauth", path_contains="revoke")
    assert (google_sync.sync_status(database, ref),
            google_sync.synced_events(database, ref)) == followed
    assert find_google_connection(database, ref).status == "connected"
