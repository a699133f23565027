"""A sign-in's redirect is single use even when two arrive at once (two servers, a double
click): exactly one of them takes the pending sign-in."""

from __future__ import annotations

import threading

from app.settings import Settings
from calendar_backend.outlook.auth import SignInFailed
from calendar_backend.outlook.sign_in import SIGN_IN_LIFETIME, begin_sign_in
from calendar_backend.sign_in_redirect import redirect_parameters, take_pending_sign_in
from storage.database import Database
from storage.outlook_tables import OutlookSignInRow
from tests.calendar_helpers import browser
from tests.fakes.microsoft import MicrosoftEmulator, fixtures

emulator, ms_settings = fixtures.emulator, fixtures.ms_settings

RACERS = 8


def test_redirects_racing_with_one_sign_in_take_it_once(
        database: Database, emulator: MicrosoftEmulator, ms_settings: Settings) -> None:
    config = ms_settings.outlook()
    params = redirect_parameters(browser(begin_sign_in(database, config)))
    start = threading.Barrier(RACERS)
    outcomes: list[str] = []

    def take() -> None:
        start.wait()
        try:
            take_pending_sign_in(database, OutlookSignInRow, params, config,
                                 SIGN_IN_LIFETIME, SignInFailed)
            outcomes.append("taken")
        except SignInFailed as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=take) for _ in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["taken"] + [
        "this sign-in is unknown or was already used: start again"] * (RACERS - 1)
