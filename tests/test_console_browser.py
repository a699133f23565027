"""The operator console in a real browser (Debian's Chromium, driven by Playwright): set up
the first operator, make a campaign with booking (an error shown beside its field first),
book in a test call, read the transcript, cancel the booking; another organisation's
operator sees none of it. A member connects Outlook and Google through the emulators'
sign-in pages, picks the calendar and the provider, and campaigns book on them. Each page
is screenshotted under build/screenshots/ (not kept in git)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, expect, sync_playwright

from app.console import create_console
from app.operator_api import create_operator_api
from app.operators.accounts import create_operator
from app.operators.test_calls import TestCalls
from app.settings import Settings
from storage.database import Database
from tests.fakes.google import GoogleEmulator
from tests.fakes.google import fixtures as google_fixtures
from tests.fakes.loopback import BackgroundServer
from tests.fakes.microsoft import MicrosoftEmulator
from tests.fakes.microsoft import fixtures as ms_fixtures
from tests.test_operator_test_calls import CALLER

emulator, google = ms_fixtures.emulator, google_fixtures.google
OWNER = google_fixtures.OWNER
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parent.parent / "build" / "screenshots"
PASSWORD = "correct horse battery"

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason="Debian's chromium is not installed (scripts/system-packages installs it)")


@pytest.fixture
def server(database: Database) -> Iterator[str]:
    settings = Settings(_env_file=None, openai_api_key=None)
    test_calls = TestCalls(database, settings)
    app = FastAPI()
    app.mount("/api/v1", create_operator_api(database, settings, test_calls))
    app.mount("/console", create_console(database, test_calls))
    running = BackgroundServer(app, name="console").start()
    yield f"{running.base_url}/console"
    running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    yield context.new_page()
    context.close()


def _shot(page: Page, database: Database, name: str) -> None:
    folder = SCREENSHOTS / database.dialect
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=folder / f"{name}.png", full_page=True)


def _sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()


def test_an_operator_sets_up_books_in_a_test_call_and_cancels_in_the_browser(
    server: str, page: Page, database: Database,
) -> None:
    page.goto(f"{server}/")
    expect(page.get_by_role("heading", name="Welcome: make the first operator")).to_be_visible()
    _shot(page, database, "01-setup")
    page.get_by_label("Organisation").fill("Northwind")
    page.get_by_label("Your e-mail").fill("ada@northwind.example")
    page.get_by_label("Password (at least 10 characters)").fill(PASSWORD)
    page.get_by_role("button", name="Create and sign in").click()
    expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()

    page.get_by_role("link", name="New campaign").click()
    page.get_by_label("Campaign name").fill("spring-outreach")
    page.get_by_label("Business name").fill("Northwind Consulting")
    page.get_by_label("Why the agent calls").fill("a free 30-minute consultation")
    page.get_by_label("Offer to book a meeting").check()
    page.get_by_label("Calendar owner's time zone (IANA)").fill("America/New_York")
    page.get_by_label("Phone numbers callers dial (one per line)").fill("+14155550100")
    page.get_by_label("Meeting length (minutes)").fill("0")
    page.get_by_role("button", name="Save campaign").click()
    length = page.get_by_label("Meeting length (minutes)")
    expect(length).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#meeting_length_minutes-error")).to_contain_text("greater than 0")
    _shot(page, database, "02-campaign-error-beside-its-field")
    length.fill("30")
    page.get_by_role("button", name="Save campaign").click()
    expect(page.get_by_role("link", name="spring-outreach", exact=True)).to_be_visible()
    _shot(page, database, "03-campaigns")

    # Contacts and dialling: upload a list, see it, start dialling.
    page.get_by_role("link", name="Dialling spring-outreach").click()
    page.get_by_label("Contact list").set_input_files(files=[{
        "name": "contacts.csv", "mimeType": "text/csv",
        "buffer": b"first_name,phone\nAnn,+12125550101\nBo,+12125550102\n"}])
    page.get_by_role("button", name="Upload the contact list").click()
    expect(page.get_by_text("0 of 2 contacts finished")).to_be_visible()
    expect(page.get_by_role("cell", name="+12125550102")).to_be_visible()
    page.get_by_role("button", name="Start dialling").click()
    expect(page.get_by_role("button", name="Pause dialling")).to_be_visible()
    _shot(page, database, "03b-contacts-and-dialling")
    page.get_by_role("button", name="Pause dialling").click()
    page.get_by_role("link", name="Back to campaigns").click()

    page.get_by_label("Caller's number for spring-outreach").fill("+18885550147")
    page.get_by_role("button", name="Start a test call of spring-outreach").click()
    expect(page.get_by_text("Northwind Consulting").first).to_be_visible()
    for said in CALLER:
        page.get_by_label("You say").fill(said)
        page.get_by_role("button", name="Say it").click()
        if page.get_by_text("The call has ended").count():
            break
    expect(page.get_by_text("The call has ended: booked")).to_be_visible()
    _shot(page, database, "04-test-call-booked")

    page.get_by_role("link", name="See the call's record").click()
    transcript = page.get_by_role("region", name="Transcript")
    expect(transcript).to_contain_text("C as in Charlie")
    expect(transcript).to_contain_text("chris dot park at example dot com")
    _shot(page, database, "05-call-transcript")

    page.get_by_role("link", name="Bookings").click()
    expect(page.get_by_text("confirmed")).to_be_visible()
    page.get_by_role("button", name="Cancel the meeting with chris.park@example.com").click()
    expect(page.get_by_text("cancelled", exact=True)).to_be_visible()
    _shot(page, database, "06-booking-cancelled")
    page.get_by_role("button", name="Sign out").click()

    # Another organisation's operator sees none of it, not even by its address.
    create_operator(database, "bob@globex.example", PASSWORD, "Globex")
    call_url = f"{server}/calls/"
    _sign_in(page, server, "bob@globex.example")
    page.get_by_role("link", name="Calls").click()
    expect(page.get_by_text("No calls yet.")).to_be_visible()
    page.get_by_role("link", name="Bookings").click()
    expect(page.get_by_text("No bookings yet.")).to_be_visible()
    page.get_by_role("link", name="Campaigns").click()
    expect(page.get_by_text("No campaigns yet.")).to_be_visible()
    _shot(page, database, "07-other-organisation-sees-nothing")
    assert page.goto(call_url + "test-000000000000").status == 404


def test_pages_need_a_signed_in_operator(server: str, page: Page, database: Database) -> None:
    create_operator(database, "ada@northwind.example", PASSWORD, "Northwind")
    for path in ("/campaigns", "/calls", "/bookings", "/campaigns/new"):
        page.goto(f"{server}{path}")
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("E-mail").fill("ada@northwind.example")
    page.get_by_label("Password").fill("wrong password!")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("do not match")


@pytest.fixture
def calendar_server(database: Database, emulator: MicrosoftEmulator,
                    google: GoogleEmulator, tmp_path: Path) -> Iterator[str]:
    """The console and the API with both providers' emulators behind them."""
    settings = Settings(
        _env_file=None, openai_api_key=None, data_dir=tmp_path,
        token_key=Fernet.generate_key().decode(),
        graph_base_url=emulator.graph_base_url, microsoft_login_url=emulator.login_url,
        microsoft_client_id=emulator.client_id,
        microsoft_client_secret=emulator.client_secret,
        google_calendar_base_url=google.calendar_base_url, google_auth_url=google.auth_url,
        google_token_url=google.token_url, google_revoke_url=google.revoke_url,
        google_client_id=google.client_id, google_client_secret=google.client_secret)
    test_calls = TestCalls(database, settings)
    app = FastAPI()
    app.mount("/api/v1", create_operator_api(database, settings, test_calls))
    app.mount("/console", create_console(database, test_calls, settings=settings))
    running = BackgroundServer(app, name="console").start()
    yield f"{running.base_url}/console"
    running.stop()


def _press(page: Page, button: str) -> None:
    # Forms are usable by keyboard: focus the button and press Enter.
    page.get_by_role("button", name=button).focus()
    page.keyboard.press("Enter")


def test_a_member_connects_outlook_and_google_in_the_browser_and_campaigns_book_on_them(
    calendar_server: str, page: Page, database: Database, emulator: MicrosoftEmulator,
    google: GoogleEmulator,
) -> None:
    server = calendar_server
    create_operator(database, "ada@northwind.example", PASSWORD, "Northwind")
    _sign_in(page, server, "ada@northwind.example")

    # No calendar yet: the Booking step says to connect one first.
    page.get_by_role("link", name="New campaign").click()
    owner = page.get_by_label("Calendar owner", exact=True)
    expect(owner.locator("option")).to_have_count(1)
    expect(page.get_by_role("note")).to_contain_text("connect a calendar first")
    _shot(page, database, "11-booking-step-connect-a-calendar-first")
    page.get_by_role("note").get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", name="Settings")).to_be_visible()
    _shot(page, database, "12-settings-nothing-connected")

    # The real sign-in: the emulator's authorize page sends the browser back here.
    emulator.sign_in_as("adele@contoso.com")
    _press(page, "Connect Outlook Calendar")
    expect(page.get_by_role("status")).to_contain_text("Outlook Calendar connected")
    outlook = page.get_by_role("region", name="Outlook Calendar")
    expect(outlook.get_by_text("Connected", exact=True)).to_be_visible()
    expect(outlook).to_contain_text("adele@contoso.com")
    expect(outlook).to_contain_text("America/Los_Angeles")
    expect(outlook.get_by_text("Booking on this calendar")).to_be_visible()
    _shot(page, database, "13-settings-outlook-connected")

    calendar = page.get_by_label("Outlook calendar to book on")
    expect(calendar.locator("option:checked")).to_have_text("Calendar")
    calendar.select_option(label="Sales demos")
    _press(page, "Save Outlook calendar")
    expect(page.get_by_label("Outlook calendar to book on").locator("option:checked")
           ).to_have_text("Sales demos")

    google.sign_in_as(OWNER)
    _press(page, "Connect Google Calendar")
    google_card = page.get_by_role("region", name="Google Calendar")
    expect(google_card.get_by_text("Booking on this calendar")).to_be_visible()
    expect(google_card).to_contain_text("America/New_York")
    expect(page.get_by_role("radio", name="Google (grace@gmail.com)")).to_be_checked()
    _shot(page, database, "14-settings-both-connected-google-active")

    # Google access taken back: the card says so, and reconnecting restores it.
    google.revoke_grant(OWNER)
    google.expire_access_tokens(OWNER)
    page.reload()
    expect(page.get_by_role("status")).to_have_count(0)  # "connected" was said once
    google_card = page.get_by_role("region", name="Google Calendar")
    expect(google_card.get_by_text("Needs reconnect", exact=True)).to_be_visible()
    expect(page.get_by_role("note")).to_contain_text("calendar access has expired")
    _shot(page, database, "14b-settings-google-needs-reconnect")
    _press(page, "Reconnect Google Calendar")
    expect(page.get_by_role("status")).to_contain_text("Google Calendar connected")
    expect(page.get_by_role("region", name="Google Calendar").get_by_text(
        "Connected", exact=True)).to_be_visible()
    page.get_by_role("radio", name="Outlook (adele@contoso.com)").check()
    _press(page, "Save provider choice")
    expect(page.get_by_role("region", name="Outlook Calendar").get_by_text(
        "Booking on this calendar")).to_be_visible()

    # The Booking step lists the members with a connected calendar.
    page.get_by_role("link", name="Campaigns").click()
    page.get_by_role("link", name="New campaign").click()
    page.get_by_label("Campaign name").fill("member-outreach")
    page.get_by_label("Business name").fill("Northwind Consulting")
    page.get_by_label("Offer to book a meeting").check()
    page.get_by_label("Calendar owner", exact=True).select_option(label="ada@northwind.example")
    expect(page.get_by_role("note")).to_have_count(0)
    _shot(page, database, "15-booking-step-calendar-owner")
    page.get_by_role("button", name="Save campaign").click()
    page.get_by_role("link", name="member-outreach", exact=True).click()
    expect(page.get_by_label("Calendar owner", exact=True).locator("option:checked")).to_have_text(
        "ada@northwind.example")

    # Disconnecting the active one falls back to the other; with none, booking is off.
    page.get_by_role("link", name="Settings").click()
    _press(page, "Disconnect Outlook Calendar")
    expect(page.get_by_role("region", name="Google Calendar").get_by_text(
        "Booking on this calendar")).to_be_visible()
    _press(page, "Disconnect Google Calendar")
    expect(page.get_by_role("note")).to_contain_text("Booking on your calendar is off")
    expect(page.get_by_role("button", name="Connect Outlook Calendar")).to_be_visible()
    expect(page.get_by_role("button", name="Connect Google Calendar")).to_be_visible()
    _shot(page, database, "16-settings-all-disconnected")
    page.get_by_role("link", name="Campaigns").click()
    page.get_by_role("link", name="member-outreach", exact=True).click()
    expect(page.get_by_label("Calendar owner", exact=True).locator("option:checked")
           ).to_contain_text("no calendar connected")
    expect(page.get_by_role("note")).to_contain_text("connect a calendar first")
