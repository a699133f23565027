"""The operator REST API: keys, organisations kept apart, campaigns as documents."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.campaign_files import load_campaign
from app.operator_api import MAX_BODY_BYTES, create_operator_api
from app.operators.accounts import create_api_key, create_operator, revoke_api_key
from app.settings import Settings
from storage.database import Database

DEMO = Path(__file__).resolve().parent.parent / "examples" / "campaigns" / "demo.yaml"
SPRING = {
    "name": "spring",
    "business_name": "Acme Dental",
    "booking": {"enabled": True, "meeting_length_minutes": 30,
                "availability": {"timezone": "America/New_York", "start": "09:00",
                                 "end": "17:00"}},
}


class Operator:
    """An organisation's API key and a client that sends it."""

    def __init__(self, client: TestClient, key: str) -> None:
        self.client, self.key = client, key

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.key}", **kwargs.pop("headers", {})}
        return self.client.request(method, f"/api/v1{path}", headers=headers, **kwargs)


def _organisation(database: Database, name: str) -> tuple[Any, str]:
    made = create_operator(database, f"owner@{name.lower()}.example", "long enough password", name)
    _, key = create_api_key(database, made.organisation, "tests")
    return made.organisation, key


@pytest.fixture
def client(database: Database) -> Iterator[TestClient]:
    from fastapi import FastAPI

    app = FastAPI()
    app.mount("/api/v1", create_operator_api(database, Settings(_env_file=None,
                                                                 openai_api_key=None)))
    with TestClient(app) as client:  # one event loop for the whole test: test calls run on it
        yield client


@pytest.fixture
def acme(database: Database, client: TestClient) -> Operator:
    return Operator(client, _organisation(database, "Acme")[1])


@pytest.fixture
def globex(database: Database, client: TestClient) -> Operator:
    return Operator(client, _organisation(database, "Globex")[1])


def test_a_request_without_an_api_key_is_unauthorised(client: TestClient) -> None:
    answer = client.get("/api/v1/campaigns")

    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert "API key" in answer.json()["detail"]


@pytest.mark.parametrize("key", ["", "nonsense", "bka_", "bka_abc", "bka_0011223344556677_x",
                                 "Bearer bka_x_y", "bka_" + "a" * 5000 + "_b"])
def test_a_malformed_or_unknown_api_key_is_unauthorised(client: TestClient, key: str) -> None:
    answer = client.get("/api/v1/campaigns", headers={"Authorization": f"Bearer {key}"})

    assert answer.status_code == 401


def test_a_revoked_api_key_is_refused(database: Database, client: TestClient) -> None:
    made = create_operator(database, "ops@initech.example", "long enough password", "Initech")
    listed, key = create_api_key(database, made.organisation, "ci")
    operator = Operator(client, key)
    assert operator.request("GET", "/campaigns").status_code == 200

    revoke_api_key(database, made.organisation, listed.id)

    assert operator.request("GET", "/campaigns").status_code == 401


def test_an_operator_creates_reads_lists_and_deletes_a_campaign(acme: Operator) -> None:
    created = acme.request("POST", "/campaigns", json=SPRING)
    assert created.status_code == 201
    campaign = created.json()
    assert campaign["name"] == "spring" and campaign["document"]["business_name"] == "Acme Dental"

    assert acme.request("GET", f"/campaigns/{campaign['id']}").json() == campaign
    assert [c["id"] for c in acme.request("GET", "/campaigns").json()["campaigns"]] == [
        campaign["id"]]

    assert acme.request("DELETE", f"/campaigns/{campaign['id']}").status_code == 204
    assert acme.request("GET", f"/campaigns/{campaign['id']}").status_code == 404


def test_an_invalid_campaign_is_refused_with_every_problem_by_path(acme: Operator) -> None:
    broken = {**SPRING, "booking": {"enabled": "perhaps", "meeting_length_minutes": -5,
                                    "availability": {"start": "25:00"}}, "colour": "blue"}

    answer = acme.request("POST", "/campaigns", json=broken)

    assert answer.status_code == 422
    paths = {p["path"] for p in answer.json()["problems"]}
    assert {"booking.enabled", "booking.meeting_length_minutes",
            "booking.availability.start", "colour"} <= paths
    assert acme.request("GET", "/campaigns").json()["campaigns"] == []


def test_another_organisations_campaign_is_not_found(acme: Operator, globex: Operator) -> None:
    theirs = globex.request("POST", "/campaigns", json=SPRING).json()
    path = f"/campaigns/{theirs['id']}"

    assert acme.request("GET", path).status_code == 404
    assert acme.request("GET", f"{path}/export").status_code == 404
    assert acme.request("PUT", path, json={**SPRING, "business_name": "Mine"}).status_code == 404
    assert acme.request("PATCH", path, json={"business_name": "Mine"}).status_code == 404
    assert acme.request("DELETE", path).status_code == 404
    assert acme.request("GET", "/campaigns").json()["campaigns"] == []
    # ... and nothing of theirs changed.
    assert globex.request("GET", path).json() == theirs


def test_campaign_names_are_unique_within_an_organisation_only(
    acme: Operator, globex: Operator
) -> None:
    assert acme.request("POST", "/campaigns", json=SPRING).status_code == 201
    assert globex.request("POST", "/campaigns", json=SPRING).status_code == 201

    again = acme.request("POST", "/campaigns", json=SPRING)

    assert again.status_code == 409 and "spring" in again.json()["detail"]


def test_a_merge_patch_turns_booking_off_and_keeps_every_other_setting(acme: Operator) -> None:
    made = acme.request("POST", "/campaigns", json=SPRING).json()

    patched = acme.request("PATCH", f"/campaigns/{made['id']}",
                           json={"booking": {"enabled": False}})

    assert patched.status_code == 200
    booking = patched.json()["document"]["booking"]
    assert booking["enabled"] is False and booking["meeting_length_minutes"] == 30
    assert booking["availability"]["timezone"] == "America/New_York"


def test_a_patch_that_breaks_the_campaign_changes_nothing(acme: Operator) -> None:
    made = acme.request("POST", "/campaigns", json=SPRING).json()

    answer = acme.request("PATCH", f"/campaigns/{made['id']}",
                          json={"booking": {"meeting_length_minutes": 0}})

    assert answer.status_code == 422
    assert answer.json()["problems"][0]["path"] == "booking.meeting_length_minutes"
    assert acme.request("GET", f"/campaigns/{made['id']}").json() == made


def test_a_campaign_file_imports_and_exports_as_the_cli_reads_it(
    acme: Operator, tmp_path: Path
) -> None:
    imported = acme.request("POST", "/campaigns/import", content=DEMO.read_bytes(),
                            headers={"Content-Type": "application/yaml"})
    assert imported.status_code == 201

    exported = acme.request("GET", f"/campaigns/{imported.json()['id']}/export")

    assert exported.headers["content-type"].startswith("application/yaml")
    path = tmp_path / "exported.yaml"
    path.write_text(exported.text, encoding="utf-8")
    assert load_campaign(path) == load_campaign(DEMO)


@pytest.mark.parametrize("body, problem", [
    (b"{not json", "not JSON"),
    (b"\xff\xfe", "not JSON"),
    (b"[" * 100_000 + b"]" * 100_000, "not JSON"),
    (b'{"name": "x", "booking": {"meeting_length_minutes": NaN}}', "NaN is not a JSON value"),
    (b"[1, 2]", "mapping"),
    (b"null", "mapping"),
])
def test_a_body_that_is_not_a_campaign_document_is_a_clear_422(
    acme: Operator, body: bytes, problem: str
) -> None:
    answer = acme.request("POST", "/campaigns", content=body,
                          headers={"Content-Type": "application/json"})

    assert answer.status_code == 422
    assert problem in json.dumps(answer.json())


def test_an_oversized_body_is_refused_unread(acme: Operator) -> None:
    answer = acme.request("POST", "/campaigns", content=b" " * (MAX_BODY_BYTES + 1),
                          headers={"Content-Type": "application/json"})

    assert answer.status_code == 413


def test_a_yaml_import_that_is_not_yaml_or_not_utf8_is_a_clear_422(acme: Operator) -> None:
    for body in (b"name: [unclosed", b"name: \xff"):
        answer = acme.request("POST", "/campaigns/import", content=body)
        assert answer.status_code == 422
        assert answer.json()["problems"][0]["path"] == ""


def test_the_api_documents_itself(client: TestClient) -> None:
    schema = client.get("/api/v1/openapi.json").json()

    assert {"/campaigns", "/campaigns/{campaign_id}", "/campaigns/import"} <= set(schema["paths"])


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                   max_size=4),
    max_leaves=20,
)
_documents = st.fixed_dictionaries({"name": st.text(max_size=30)}, optional={
    "booking": st.dictionaries(
        st.sampled_from(["enabled", "meeting_length_minutes", "availability", "x"]), _json,
        max_size=4),
    "business_name": _json, "agent_name": _json,
}) | _json


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=_documents)
def test_any_json_body_is_created_or_refused_never_a_server_error(
    acme: Operator, document: Any
) -> None:
    before = acme.request("GET", "/campaigns").json()["campaigns"]

    answer = acme.request("POST", "/campaigns", json=document)

    assert answer.status_code in (201, 409, 422), answer.text
    after = acme.request("GET", "/campaigns").json()["campaigns"]
    if answer.status_code == 201:
        assert len(after) == len(before) + 1
        assert yaml.safe_dump(answer.json()["document"])  # stored as plain data
    else:
        assert after == before
        assert answer.json()["detail"]
