"""An owner's changes in Outlook reach the operators' webhooks: a booking the owner deleted
is ``booking.cancelled``, one the owner moved is ``booking.moved``; a campaign file's booking
(no organisation) tells nobody."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from cryptography.fernet import Fernet
from sqlalchemy import select

from app.operators.accounts import create_operator
from app.operators.webhooks import announce_owner_changes, register
from calendar_backend.outlook.follow import follow_once
from calendar_backend.token_store import TokenCipher
from storage.database import Database
from storage.webhook_tables import WebhookDeliveryRow, WebhookEventRow
from telephony.call_records import record_call_started
from tests import owner_calendars
from tests.fakes.microsoft import fixtures
from tests.owner_calendars import NOW, OutlookCalendar

emulator, ms_settings, operator_env = fixtures.emulator, fixtures.ms_settings, \
    fixtures.operator_env
outlook_calendar = owner_calendars.outlook_calendar


def _events(database: Database) -> list[tuple[str, str, str, str]]:
    with database.session() as session:
        rows = session.scalars(select(WebhookEventRow).order_by(WebhookEventRow.created_at))
        return [(r.type, r.organisation_id, r.payload["id"], r.payload["status"]) for r in rows]


async def test_owner_who_deletes_or_moves_a_booking_is_told_to_its_organisations_webhooks(
        database: Database, outlook_calendar: OutlookCalendar) -> None:
    cal = outlook_calendar
    organisation = create_operator(database, "owner@northwind.example", "long enough password",
                                   "Northwind").organisation
    register(database, TokenCipher(Fernet.generate_key().decode()), organisation,
             "https://hooks.northwind.example/", ["booking.cancelled", "booking.moved"])
    ref = await cal.connect()
    for i in (0, 1, 2):
        # Calls 0 and 1 were the organisation's; call 2 a campaign file's.
        record_call_started(database, f"call-{i}", campaign="Spring outreach",
                            direction="inbound", caller_number=None, our_number=None,
                            organisation_id=organisation.id if i < 2 else None)
    deleted = await cal.book(ref, 0, slot=0)
    moved = await cal.book(ref, 1, slot=2)
    unowned = await cal.book(ref, 2, slot=4)
    cal.owner_deletes(deleted.event_id)
    later = NOW + timedelta(days=1, hours=2)
    cal.owner_moves(moved.event_id, later, later + timedelta(minutes=30))
    cal.owner_deletes(unowned.event_id)

    await follow_once(database, cal.config(), None,
                      on_synced=partial(announce_owner_changes, database))

    assert sorted(_events(database)) == sorted([
        ("booking.cancelled", organisation.id, deleted.booking_id, "cancelled_by_owner"),
        ("booking.moved", organisation.id, moved.booking_id, "confirmed"),
    ])
    with database.session() as session:
        assert len(session.scalars(select(WebhookDeliveryRow)).all()) == 2


async def test_a_sync_that_changed_no_booking_tells_nobody(
        database: Database, outlook_calendar: OutlookCalendar) -> None:
    told = []
    await outlook_calendar.connect()
    await follow_once(database, outlook_calendar.config(), None, on_synced=told.append)
    await follow_once(database, outlook_calendar.config(), None, on_synced=told.append)
    assert told == [] and _events(database) == []
