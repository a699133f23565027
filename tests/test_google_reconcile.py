"""A Google booking process killed mid-way (SIGKILL) is settled by its event id: confirmed if
Google has the event, released if not (both databases, the Google emulator)."""

from __future__ import annotations

import pytest

from app.bootstrap import settle_claims
from app.settings import Settings
from calendar_backend.booking_store import idempotency_key
from calendar_backend.google.calendar import event_id
from calendar_backend.google.connections import open_calendar
from calendar_backend.reconcile import Settled
from storage.database import Database
from tests.calendar_helpers import provider_environment
from tests.fakes.google import GoogleEmulator, fixtures
from tests.test_booking_reconcile import (
    bookings,
    crash_booking,
    crashed_a_write_time_out_ago,
    offered,
)
from tests.test_google_calls import connect

google, google_settings = fixtures.google, fixtures.google_settings
OWNER = fixtures.OWNER


@pytest.mark.parametrize("stop_at", ["before-write", "after-write"])
async def test_google_booking_killed_mid_way_is_settled_by_its_event_id(
    database: Database, google: GoogleEmulator, google_settings: Settings, stop_at: str,
) -> None:
    ref = (await connect(database, google_settings, google)).ref
    start = crash_booking(database, stop_at, calendar=ref, env=provider_environment(
        google_settings, fixtures.settings_fields(google)))
    [claim] = bookings(database)
    assert claim.status == "pending"
    written = google.events(OWNER)
    assert len(written) == (1 if stop_at == "after-write" else 0)

    crashed_a_write_time_out_ago(database)
    google.clear_log()
    settled = await settle_claims(database, google_settings)

    [row] = bookings(database)
    provider = open_calendar(database, google_settings.google(), ref)
    if stop_at == "after-write":
        assert settled == Settled(confirmed=1)
        assert row.status == "confirmed" and row.event_id == written[0].id
        assert row.online_meeting_url == written[0].data["hangoutLink"]
        assert start not in await offered(database, provider, ref)
    else:
        assert settled == Settled(released=1)
        assert row.status == "failed"
        assert start in await offered(database, provider, ref)
    # One look-up by the id the booking's key decides, and nothing written.
    [lookup] = google.requests(method="GET")
    assert (lookup.method, lookup.path.rsplit("/", 1)[-1]) == (
        "GET", event_id(idempotency_key(claim.id)))
    assert google.events(OWNER) == written
