"""Outbound calls: one test call, and a contact list dialled at a pace, never twice."""

from __future__ import annotations

import asyncio
import json

import pytest
from fastapi import WebSocket
from pydantic import SecretStr

from app.call_server import CampaignDirectory, create_app
from app.campaign_files import parse_campaign
from app.contacts_file import ContactsInvalid, load_contacts
from app.settings import Settings
from telephony.call_records import get_call
from telephony.outbound import (
    ClaimedContact,
    add_contacts,
    dial_campaign,
    dial_list,
    place_call,
    twilio_client,
)
from telephony.phone_pipeline import AdmittedCall
from tests.fakes.loopback import BackgroundServer, free_port
from tests.fakes.media_caller import MediaCaller
from tests.fakes.twilio_server import TwilioEmulator, parse_stream_twiml

CAMPAIGN = parse_campaign({"name": "renewals", "phone_numbers": ["+14155550100"]})


class Outbound:
    """The Twilio emulator, a call server whose conversation just notes who answered."""

    def __init__(self, database) -> None:
        self.twilio = TwilioEmulator().start()
        port = free_port()
        self.settings = Settings(
            _env_file=None, public_url=f"http://127.0.0.1:{port}",
            twilio_account_sid=self.twilio.account_sid,
            twilio_auth_token=self.twilio.auth_token, twilio_api_url=self.twilio.base_url)
        self.database = database
        self.admitted: list[AdmittedCall] = []

        async def handler(websocket: WebSocket, call: AdmittedCall) -> None:
            self.admitted.append(call)
            await websocket.send_text(json.dumps({"event": "mark", "streamSid": call.stream_sid,
                                                  "mark": {"name": "hello"}}))
            await websocket.receive_text()

        app = create_app(campaigns=CampaignDirectory([CAMPAIGN]), twilio=self.settings.twilio(),
                         database=database, handler=handler)
        self.server = BackgroundServer(app, port, "call-server").start()
        self.client = twilio_client(self.settings.twilio())

    def created_to(self) -> list[str]:
        return [form["To"] for kind, _, form in self.twilio.requests if kind == "create"]

    def stop(self) -> None:
        self.server.stop()
        self.twilio.stop()


@pytest.fixture
def outbound(database):
    o = Outbound(database)
    yield o
    o.stop()


async def test_test_call_rings_the_number_and_streams_to_the_campaign(outbound):
    sid = await asyncio.to_thread(place_call, outbound.client, outbound.settings.twilio(),
                                  outbound.database, CAMPAIGN, "+12125550123")
    twiml = await outbound.twilio.answered(sid)
    stream = parse_stream_twiml(twiml)
    assert stream.parameters["campaign"] == "renewals"
    assert stream.parameters["caller"] == "+12125550123"
    assert stream.parameters["direction"] == "outbound"
    async with MediaCaller(stream.url, custom_parameters=stream.parameters, call_sid=sid) as c:
        for _ in range(100):
            if c.marks:
                break
            await asyncio.sleep(0.02)
    assert [a.call_sid for a in outbound.admitted] == [sid]
    record = get_call(outbound.database, sid)
    assert record.direction == "outbound" and record.caller_number == "+12125550123"
    # Twilio's signed status callbacks reached the server and were accepted.
    statuses = [code for url, code in outbound.twilio.callback_responses if "status" in url]
    assert statuses and set(statuses) == {204}


def _contacts_file(tmp_path, rows: list[str]) -> str:
    path = tmp_path / "contacts.csv"
    path.write_text("first_name,last_name,phone,plan\n" + "\n".join(rows) + "\n")
    return str(path)


def test_contact_columns_become_recipient_tokens(tmp_path):
    contacts = load_contacts(_contacts_file(tmp_path, ["Ann,Lee,+1 212 555 0101,gold"]))
    assert contacts[0].first_name == "Ann" and contacts[0].phone == "+12125550101"
    assert contacts[0].tokens()["custom.plan"] == "gold"


def test_bad_contact_rows_are_all_reported(tmp_path):
    path = _contacts_file(tmp_path, ["Ann,Lee,+12125550101,gold", "Bo,,12345,", "Cy,,,",
                                     "Di,,+12125550101,"])
    with pytest.raises(ContactsInvalid) as error:
        load_contacts(path)
    assert [row for row, _ in error.value.problems] == [3, 4, 5]


async def test_dialling_stops_and_resumes_without_calling_anyone_twice(outbound, tmp_path):
    rows = [f"P{i},X,+1212555{i:04d}," for i in range(101, 106)]
    contacts = load_contacts(_contacts_file(tmp_path, rows))
    assert add_contacts(outbound.database, "renewals", contacts) == 5
    stop = asyncio.Event()

    def place(contact: ClaimedContact) -> str:
        if len(outbound.created_to()) == 1:
            stop.set()  # the operator stops the run after the second call is placed
        return place_call(outbound.client, outbound.settings.twilio(), outbound.database, CAMPAIGN,
                          contact.phone, recipient=contact.recipient)

    first = await dial_campaign(outbound.database, CAMPAIGN, place=place, pace_seconds=0.05,
                                stop=stop)
    assert first.stopped and len(first.dialled) == 2
    # The list is loaded again (as a resumed `campaign dial` does): nothing is reset.
    assert add_contacts(outbound.database, "renewals", contacts) == 0
    second = await dial_campaign(outbound.database, CAMPAIGN, place=place, pace_seconds=0.05)
    assert not second.stopped and len(second.dialled) == 3
    called = outbound.created_to()
    assert sorted(called) == sorted(c.phone for c in contacts)
    assert {row.state for row in dial_list(outbound.database, "renewals")} == {"dialled"}


async def test_two_diallers_at_once_never_call_the_same_contact(outbound, tmp_path):
    rows = [f"P{i},X,+1212555{i:04d}," for i in range(201, 209)]
    add_contacts(outbound.database, "renewals", load_contacts(_contacts_file(tmp_path, rows)))

    def place(contact: ClaimedContact) -> str:
        return place_call(outbound.client, outbound.settings.twilio(), outbound.database, CAMPAIGN,
                          contact.phone)

    await asyncio.gather(*(dial_campaign(outbound.database, CAMPAIGN, place=place,
                                         pace_seconds=0.0) for _ in range(2)))
    called = outbound.created_to()
    assert len(called) == 8 and len(set(called)) == 8


async def test_a_number_twilio_refuses_is_marked_failed_and_the_list_goes_on(outbound,
                                                                           tmp_path):
    outbound.twilio.invalid_numbers.add("+12125550301")
    add_contacts(outbound.database, "renewals", load_contacts(_contacts_file(
        tmp_path, ["A,,+12125550301,", "B,,+12125550302,"])))

    def place(contact: ClaimedContact) -> str:
        return place_call(outbound.client, outbound.settings.twilio(), outbound.database, CAMPAIGN,
                          contact.phone)

    report = await dial_campaign(outbound.database, CAMPAIGN, place=place, pace_seconds=0.0)
    assert [p for p, _ in report.failed] == ["+12125550301"]
    assert "Invalid 'To' Phone Number" in report.failed[0][1]
    assert [p for p, _ in report.dialled] == ["+12125550302"]
    states = {r.phone: r.state for r in dial_list(outbound.database, "renewals")}
    assert states == {"+12125550301": "failed", "+12125550302": "dialled"}


def _rang(outbound: Outbound) -> list[str]:
    """The numbers Twilio actually placed calls to (an outage's refused creates do not ring)."""
    return [call.to for call in outbound.twilio.calls.values()]


def _placer(outbound: Outbound, client=None):  # noqa: ANN001, ANN202
    def place(contact: ClaimedContact) -> str:
        return place_call(client or outbound.client, outbound.settings.twilio(),
                          outbound.database, CAMPAIGN, contact.phone)
    return place


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_a_twilio_outage_puts_the_contact_back_with_its_attempt_counted(
        outbound, tmp_path, status):
    add_contacts(outbound.database, "renewals", load_contacts(_contacts_file(
        tmp_path, ["A,,+12125550401,", "B,,+12125550402,"])))
    outbound.twilio.create_fails_with = status

    report = await dial_campaign(outbound.database, CAMPAIGN, place=_placer(outbound),
                                 pace_seconds=0.0)
    assert report.not_placed is not None and report.not_placed[0] == "+12125550401"
    assert str(status) in report.not_placed[1]
    assert report.dialled == [] and report.failed == []  # the run ends at the outage
    rows = {r.phone: r for r in dial_list(outbound.database, "renewals")}
    assert (rows["+12125550401"].state, rows["+12125550401"].attempts) == ("pending", 1)
    assert (rows["+12125550402"].state, rows["+12125550402"].attempts) == ("pending", 0)

    outbound.twilio.create_fails_with = None  # Twilio is back: the rerun calls everyone once
    again = await dial_campaign(outbound.database, CAMPAIGN, place=_placer(outbound),
                                pace_seconds=0.0)
    assert again.not_placed is None
    assert sorted(_rang(outbound)) == ["+12125550401", "+12125550402"]
    rows = {r.phone: r for r in dial_list(outbound.database, "renewals")}
    assert {r.state for r in rows.values()} == {"dialled"}
    assert rows["+12125550401"].attempts == 2


async def test_an_unreachable_twilio_api_puts_the_contact_back_on_the_list(outbound, tmp_path):
    add_contacts(outbound.database, "renewals", load_contacts(_contacts_file(
        tmp_path, ["A,,+12125550501,"])))
    closed = outbound.settings.model_copy(
        update={"twilio_api_url": f"http://127.0.0.1:{free_port()}"})  # nothing listens
    report = await dial_campaign(outbound.database, CAMPAIGN,
                                 place=_placer(outbound, twilio_client(closed.twilio())),
                                 pace_seconds=0.0)
    assert report.not_placed is not None
    assert "cannot reach the Twilio API" in report.not_placed[1]
    [row] = dial_list(outbound.database, "renewals")
    assert (row.state, row.attempts, row.call_id) == ("pending", 1, None)


async def test_twilio_refusing_the_account_puts_the_contact_back_on_the_list(outbound,
                                                                             tmp_path):
    add_contacts(outbound.database, "renewals", load_contacts(_contacts_file(
        tmp_path, ["A,,+12125550601,"])))
    wrong = outbound.settings.model_copy(update={"twilio_auth_token": SecretStr("not-the-token")})
    report = await dial_campaign(outbound.database, CAMPAIGN,
                                 place=_placer(outbound, twilio_client(wrong.twilio())),
                                 pace_seconds=0.0)
    assert report.not_placed is not None and "401" in report.not_placed[1]
    [row] = dial_list(outbound.database, "renewals")
    assert (row.state, row.attempts) == ("pending", 1)
    assert _rang(outbound) == []


async def test_a_contact_that_met_an_outage_waits_behind_the_fresh_ones(outbound, tmp_path):
    add_contacts(outbound.database, "renewals", load_contacts(_contacts_file(
        tmp_path, ["A,,+12125550701,", "B,,+12125550702,"])))
    outbound.twilio.create_fails_with = 503
    await dial_campaign(outbound.database, CAMPAIGN, place=_placer(outbound), pace_seconds=0.0)
    outbound.twilio.create_fails_with = None
    await dial_campaign(outbound.database, CAMPAIGN, place=_placer(outbound), pace_seconds=0.0)
    assert _rang(outbound) == ["+12125550702", "+12125550701"]
