"""The operator API's dialling routes: upload a campaign's contacts, start, pause, resume and
stop dialling, follow progress; organisations kept apart."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.operator_api import create_operator_api
from app.settings import Settings
from storage.database import Database
from telephony.dialling import claim_job
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
