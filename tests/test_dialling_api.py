"""The operator API's dialling routes: upload a campaign's contacts, start, pause, resume and
stop dialling, follow progress; organisations kept apart."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.campaign_files import parse_campaign
from app.operator_api import create_operator_api
from app.settings import Settings
from calendar_backend.booking_settings import Recipient
from storage.database import Database
from telephony.dialling import claim_job, enqueue_campaign, progress, set_campaign_state
from tests.test_operator_api import Operator, _organisation

SPRING = {"name": "spring", "business_name": "Acme Dental", "phone_numbers": ["+14155550100"],
          "dialling": {"calling_hours": {"start": "00:00", "end": "23:59"}}}
CSV = "first_name,phone,zone\nAnn,+12125550101,Asia/Tokyo\nBo,+12125550102,\n"


def _operator(database: Database, client: TestClient, name: str) -> Operator:
    return Operator(client, _organisation(database, name)[1])


@pytest.fixture
def client(database: Database) -> Iterator[TestClient]:
    app = FastAPI()
    app.mount("/api/v1", create_operator_api(database, Settings(_env_file=None)))
    with TestClient(app) as client:
        yield client


@pytest.fixture
def acme(database: Database, client: TestClient) -> Operator:
    return _operator(database, client, "Acme")


def _campaign(operator: Operator) -> str:
    answer = operator.request("POST", "/campaigns", json=SPRING)
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def _upload(operator: Operator, campaign_id: str, text: str) -> Any:
    return operator.request("POST", f"/campaigns/{campaign_id}/contacts", content=text,
                            headers={"Content-Type": "text/csv"})


def test_uploaded_contacts_wait_until_dialling_is_started(database, acme):
    campaign_id = _campaign(acme)
    answer = _upload(acme, campaign_id, CSV)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert (body["contacts"], body["added"]) == (2, 2)
    assert body["progress"]["state"] == "paused" and body["progress"]["jobs"] == {"queued": 2}
    assert claim_job(database, "w", 30) is None  # paused: no worker takes them

    started = acme.request("POST", f"/campaigns/{campaign_id}/dialling/start")
    assert started.status_code == 200 and started.json()["state"] == "running"
    assert claim_job(database, "w", 30) is not None
    paused = acme.request("POST", f"/campaigns/{campaign_id}/dialling/pause")
    assert paused.json()["state"] == "paused"
    assert claim_job(database, "w", 30) is None
    assert acme.request("POST", f"/campaigns/{campaign_id}/dialling/resume").json()[
        "state"] == "running"
    stopped = acme.request("POST", f"/campaigns/{campaign_id}/dialling/stop").json()
    assert stopped["state"] == "stopped" and stopped["total"] == 2
    # Uploading the same list again adds nobody.
    assert _upload(acme, campaign_id, CSV).json()["added"] == 0


def test_a_contact_list_with_bad_rows_is_refused_whole_naming_each_row(database, acme):
    campaign_id = _campaign(acme)
    answer = _upload(acme, campaign_id, "phone,zone\n12345,\n+12125550101,Mars/Olympus\n")
    assert answer.status_code == 422
    assert answer.json()["problems"][0]["path"] == "row 2"
    progress = acme.request("GET", f"/campaigns/{campaign_id}/dialling")
    assert progress.status_code == 404  # nothing was queued
    unknown_zone = _upload(acme, campaign_id, "phone,zone\n+12125550101,Mars/Olympus\n")
    assert unknown_zone.status_code == 422 and "Mars/Olympus" in unknown_zone.text
    assert acme.request("GET", f"/campaigns/{campaign_id}/dialling").status_code == 404


def test_another_organisations_campaign_is_not_found_and_no_key_is_unauthorised(
        database, client, acme):
    campaign_id = _campaign(acme)
    _upload(acme, campaign_id, CSV)
    globex = _operator(database, client, "Globex")
    for method, path in (("POST", f"/campaigns/{campaign_id}/contacts"),
                         ("GET", f"/campaigns/{campaign_id}/dialling"),
                         ("POST", f"/campaigns/{campaign_id}/dialling/start")):
        assert globex.request(method, path, content=CSV).status_code == 404
        assert client.request(method, f"/api/v1{path}").status_code == 401
    assert acme.request("POST", f"/campaigns/{campaign_id}/dialling/explode").status_code == 422


def test_the_contacts_uploaded_are_listed_with_their_state_and_only_to_their_organisation(
        database: Database, client: TestClient, acme: Operator) -> None:
    campaign_id = _campaign(acme)
    assert _upload(acme, campaign_id, CSV).status_code == 201
    listed = acme.request("GET", f"/campaigns/{campaign_id}/contacts")
    assert listed.status_code == 200, listed.text
    assert listed.json()["total"] == 2
    assert [(c["phone"], c["first_name"], c["state"], c["attempts"])
            for c in listed.json()["contacts"]] == [
        ("+12125550101", "Ann", "queued", 0), ("+12125550102", "Bo", "queued", 0)]
    page = acme.request("GET", f"/campaigns/{campaign_id}/contacts?limit=1&offset=1").json()
    assert [c["phone"] for c in page["contacts"]] == ["+12125550102"] and page["total"] == 2
    assert acme.request("GET", f"/campaigns/{campaign_id}/contacts?state=done") \
        .json()["contacts"] == []
    assert acme.request("GET", f"/campaigns/{campaign_id}/contacts?state=lost") \
        .status_code == 422
    globex = _operator(database, client, "Globex")
    assert globex.request("GET", f"/campaigns/{campaign_id}/contacts").status_code == 404


def test_two_organisations_dial_campaigns_of_the_same_name(database, client, acme):
    globex = _operator(database, client, "Globex")
    ours = _campaign(acme)
    answer = globex.request("POST", "/campaigns",
                            json={**SPRING, "phone_numbers": ["+14155550199"]})
    assert answer.status_code == 201, answer.text
    theirs = answer.json()["id"]
    # A campaign file of that name is queued from the CLI too (it has no organisation).
    enqueue_campaign(database, parse_campaign(SPRING), [Recipient(phone="+12125550109")],
                     from_number="+14155550100")

    assert _upload(acme, ours, CSV).json()["added"] == 2
    uploaded = _upload(globex, theirs, "phone\n+12125550103\n")
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["added"] == 1

    assert acme.request("POST", f"/campaigns/{ours}/dialling/start").json()["state"] == \
        "running"
    # Each organisation's campaign is its own: its contacts, its state, its progress.
    theirs_now = globex.request("GET", f"/campaigns/{theirs}/dialling").json()
    assert (theirs_now["state"], theirs_now["total"]) == ("paused", 1)
    assert [c["phone"] for c in globex.request(
        "GET", f"/campaigns/{theirs}/contacts").json()["contacts"]] == ["+12125550103"]
    assert acme.request("GET", f"/campaigns/{ours}/contacts").json()["total"] == 2
    assert globex.request("POST", f"/campaigns/{theirs}/dialling/stop").json()["state"] == \
        "stopped"
    assert acme.request("GET", f"/campaigns/{ours}/dialling").json()["state"] == "running"
    # The CLI sees the campaign file's, whichever organisations have one of that name.
    from_file = progress(database, "spring")
    assert from_file is not None and (from_file.state, from_file.total) == ("running", 1)
    assert set_campaign_state(database, "spring", "paused")
    assert acme.request("GET", f"/campaigns/{ours}/dialling").json()["state"] == "running"
    # The one campaign left running is Acme's: a worker takes its contacts only.
    job = claim_job(database, "w", 30)
    assert job is not None and job.campaign == "spring" and job.organisation_id is not None
    assert job.phone in ("+12125550101", "+12125550102")
    acmes = progress(database, "spring", organisation_id=job.organisation_id)
    assert acmes is not None and acmes.total == 2
