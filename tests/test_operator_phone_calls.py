"""Phone calls of campaigns operators keep in the database: answered by the numbers they
list, booked on their organisation's calendar, shown only to that organisation, and told to
its webhooks."""

from __future__ import annotations

import asyncio
from functools import partial

import pytest
from cryptography.fernet import Fernet
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.call_server import CampaignDirectory
from app.operator_api import create_operator_api
from app.operators.accounts import create_api_key, create_operator
from app.operators.campaigns import StoredCampaigns, create_campaign, delete_campaign
from app.operators.webhooks import announce_call_ended, register
from app.settings import Settings
from calendar_backend.token_store import TokenCipher
from storage.booking_tables import BookingRow
from storage.webhook_tables import WebhookDeliveryRow, WebhookEventRow
from telephony.outbound import create_call, twilio_client
from tests.fakes.twilio_server import parse_stream_twiml
from tests.test_telephony_call import CAMPAIGN, SCRIPT, PhoneLine, _converse, _record_when_done

OUR_NUMBER = "+14155550100"  # the number PhoneLine rings
DOCUMENT = CAMPAIGN.model_dump(mode="json", exclude_unset=True)


def _organisation(database, name: str):
    made = create_operator(database, f"owner@{name.lower()}.example", "long enough password",
                           name)
    return made.organisation


@pytest.fixture
def northwind(database):
    organisation = _organisation(database, "Northwind")
    stored = create_campaign(database, organisation, DOCUMENT)
    return organisation, stored


@pytest.fixture
def stored_line(database, northwind):
    # No campaign file: only the operators' campaigns answer.
    phone = PhoneLine(database, directory=CampaignDirectory([], StoredCampaigns(database)),
                      call_ended=partial(announce_call_ended, database))
    yield phone
    phone.stop()


def _api(database, organisation) -> TestClient:
    app = FastAPI()
    app.mount("/api/v1", create_operator_api(database, Settings(_env_file=None,
                                                                 openai_api_key=None)))
    _, key = create_api_key(database, organisation, "tests")
    client = TestClient(app)
    client.headers["Authorization"] = f"Bearer {key}"
    return client


async def _event_when_written(database, kind: str, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.1)):
        with database.session() as session:
            if session.scalars(select(WebhookEventRow).where(
                    WebhookEventRow.type == kind)).first() is not None:
                return
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {kind} event was written")


async def test_call_to_an_operators_number_books_on_its_organisations_calendar(
        database, northwind, stored_line):
    organisation, stored = northwind
    register(database, TokenCipher(Fernet.generate_key().decode()), organisation,
             "https://hooks.northwind.example/booking", ["booking.created", "call.ended"])
    async with await stored_line.dial_in() as caller:
        await _converse(caller, SCRIPT)
        await asyncio.wait_for(caller.closed.wait(), 15)
    record = await _record_when_done(database, caller.call_sid)
    # The call is recorded first, then announced: wait for the announcement too.
    await _event_when_written(database, "call.ended")

    assert record.outcome == "booked" and record.campaign == CAMPAIGN.name
    with database.session() as session:
        booking = session.scalars(select(BookingRow)).one()
        events = session.scalars(select(WebhookEventRow).order_by(WebhookEventRow.created_at))
        told = [(e.type, e.organisation_id, e.payload) for e in events]
        deliveries = session.scalars(select(WebhookDeliveryRow)).all()
    # The organisation's own embedded calendar, never the server-wide one.
    assert booking.calendar_id == f"local:{organisation.id}"
    assert [(kind, org) for kind, org, _ in told] == [
        ("booking.created", organisation.id), ("call.ended", organisation.id)]
    assert told[0][2]["attendee_email"] == "john@example.com"
    assert told[1][2]["call_id"] == caller.call_sid and told[1][2]["outcome"] == "booked"
    assert len(deliveries) == 2  # one per event, to the registered endpoint


async def test_phone_call_is_listed_for_its_organisation_and_no_other(
        database, northwind, stored_line):
    organisation, _ = northwind
    other = _organisation(database, "Contoso")
    async with await stored_line.dial_in() as caller:
        await caller.wait_for_agent_turn(0.0, quiet=1.2, timeout=20)
        await caller.say("no thank you goodbye")
        await asyncio.wait_for(caller.closed.wait(), 25)
    await _record_when_done(database, caller.call_sid)

    ours = _api(database, organisation).get("/api/v1/calls").json()
    assert [c["id"] for c in ours["calls"]] == [caller.call_sid]
    theirs = _api(database, other)
    assert theirs.get("/api/v1/calls").json()["calls"] == []
    assert theirs.get(f"/api/v1/calls/{caller.call_sid}").status_code == 404


async def test_number_no_campaign_lists_is_declined(database, northwind, stored_line):
    _, twiml, status = await stored_line.twilio.ring(
        "+14155550111", "+12125550123", f"{stored_line.url}/twilio/voice")
    assert status == 200 and parse_stream_twiml(twiml) is None and "<Hangup" in twiml


async def test_stream_of_a_campaign_deleted_after_answering_is_refused(
        database, northwind, stored_line):
    organisation, stored = northwind
    caller = await stored_line.dial_in()
    delete_campaign(database, organisation, stored.id)
    async with caller:
        await asyncio.wait_for(caller.closed.wait(), 10)
    assert caller.close_code == 1008


def test_a_number_belongs_to_one_organisation(database, northwind):
    organisation, _ = northwind
    contoso = _api(database, _organisation(database, "Contoso"))
    taken = contoso.post("/api/v1/campaigns", json={**DOCUMENT, "name": "contoso-sales"})
    assert taken.status_code == 409 and OUR_NUMBER in taken.json()["detail"]
    assert contoso.get("/api/v1/campaigns").json()["campaigns"] == []
    free = contoso.post("/api/v1/campaigns", json={**DOCUMENT, "name": "contoso-sales",
                                                   "phone_numbers": ["+14155550177"]})
    assert free.status_code == 201
    # The organisation's own campaigns may share it (to call out from).
    ours = _api(database, organisation).post("/api/v1/campaigns",
                                             json={**DOCUMENT, "name": "renewals"})
    assert ours.status_code == 201


async def test_a_number_two_of_its_campaigns_share_is_answered_by_the_older(
        database, northwind, stored_line):
    organisation, older = northwind
    create_campaign(database, organisation, {**DOCUMENT, "name": "renewals"})
    _, twiml, _ = await stored_line.twilio.ring(OUR_NUMBER, "+12125550123",
                                                f"{stored_line.url}/twilio/voice")
    stream = parse_stream_twiml(twiml)
    assert stream is not None and stream.parameters["campaign"] == f"stored:{older.id}"


async def test_outbound_call_of_an_organisations_campaign_streams_to_that_campaign(
        database, northwind, stored_line):
    organisation, stored = northwind
    # Another organisation's campaign of the same name is never the one answering.
    contoso = _organisation(database, "Contoso")
    create_campaign(database, contoso, {**DOCUMENT, "phone_numbers": ["+14155550177"]})
    client = twilio_client(stored_line.settings.twilio())

    sid = await asyncio.to_thread(
        create_call, client, stored_line.settings.twilio(), database, CAMPAIGN.name,
        "+12125550123", OUR_NUMBER, organisation_id=organisation.id)
    stream = parse_stream_twiml(await stored_line.twilio.answered(sid) or "")

    assert stream is not None and stream.parameters["campaign"] == f"stored:{stored.id}"
    assert stream.parameters["direction"] == "outbound"
    assert [c["id"] for c in _api(database, organisation).get("/api/v1/calls")
            .json()["calls"]] == [sid]
