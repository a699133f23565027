"""The operator console in a real browser (Debian's Chromium, driven by Playwright): set up
the first operator, make a campaign with booking (an error shown beside its field first),
book in a test call, read the transcript, cancel the booking; another organisation's
operator sees none of it. Each page is screenshotted under build/screenshots/ (not kept
in git)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, expect, sync_playwright

from app.console import create_console
from app.operator_api import create_operator_api
from app.operators.accounts import create_operator
from app.operators.test_calls import TestCalls
from app.settings import Settings
from storage.database import Database
from tests.fakes.loopback import BackgroundServer
from tests.test_operator_test_calls import CALLER

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
    page.get_by_label("Meeting length (minutes)").fill("0")
    page.get_by_role("button", name="Save campaign").click()
    length = page.get_by_label("Meeting length (minutes)")
    expect(length).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#meeting_length_minutes-error")).to_contain_text("greater than 0")
    _shot(page, database, "02-campaign-error-beside-its-field")
    length.fill("30")
    page.get_by_role("button", name="Save campaign").click()
    expect(page.get_by_role("link", name="spring-outreach")).to_be_visible()
    _shot(page, database, "03-campaigns")

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
