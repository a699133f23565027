"""Webhooks: signed deliveries from a database outbox, retried with back-off for 24 hours,
surviving a restart, with a delivery log; registered and seen per organisation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from fastapi import FastAPI, Request, Response
from fastapi.testclient import TestClient
from sqlalchemy import text

from app.operator_api import create_operator_api
from app.operators.accounts import create_api_key, create_operator
from app.operators.webhooks import (
    GIVE_UP_AFTER,
    SIGNATURE_HEADER,
    deliver_due,
    emit,
    verify_signature,
)
from app.settings import Settings
from calendar_backend.token_store import TokenCipher
from storage.base import utc_now
from storage.database import Database, open_database
from tests.fakes.loopback import BackgroundServer
from tests.test_operator_api import Operator
from tests.test_operator_test_calls import CALLER, _call, _campaign

KEY = Fernet.generate_key().decode()


class Receiver:
    """A webhook receiver on loopback: answers the statuses it is told, records what came."""

    def __init__(self) -> None:
        self.answers: list[int] = []
        self.received: list[tuple[dict[str, str], bytes]] = []
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request) -> Response:
            self.received.append((dict(request.headers), await request.body()))
            return Response(status_code=self.answers.pop(0) if self.answers else 204)

        self.server = BackgroundServer(app, name="webhook-receiver").start()
        self.url = f"{self.server.base_url}/hook"

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.server.stop()


@pytest.fixture
def settings() -> Settings:
    return Settings(_env_file=None, openai_api_key=None, token_key=KEY)


@pytest.fixture
def api(database: Database, settings: Settings) -> Iterator[TestClient]:
    app = FastAPI()
    app.mount("/api/v1", create_operator_api(database, settings))
    with TestClient(app) as client:
        yield client


def _operator(database: Database, api: TestClient, name: str) -> tuple[Operator, str]:
    made = create_operator(database, f"ops@{name.lower()}.example", "long enough password", name)
    return Operator(api, create_api_key(database, made.organisation, "t")[1]), \
        made.organisation.id


async def _deliver(database: Database, **kwargs: Any) -> int:
    async with httpx.AsyncClient() as client:
        return await deliver_due(database, TokenCipher(KEY), client, **kwargs)


async def test_a_test_call_that_books_sends_signed_booking_and_call_events(
    database: Database, api: TestClient, receiver: Receiver,
) -> None:
    operator, _ = _operator(database, api, "Acme")
    made = operator.request("POST", "/webhooks", json={
        "url": receiver.url, "events": ["booking.created", "call.ended"]})
    assert made.status_code == 201
    secret = made.json()["secret"]
    [listed] = operator.request("GET", "/webhooks").json()["webhooks"]
    assert listed["secret"] is None  # shown once, when registered

    states = _call(operator, _campaign(operator)["id"], CALLER)
    assert await _deliver(database) == 2

    # Deliveries go out side by side: order is not promised, ids and types are.
    by_type = {e["type"]: e for e in receiver.events()}
    assert sorted(by_type) == ["booking.created", "call.ended"]
    booking, ended = by_type["booking.created"], by_type["call.ended"]
    assert booking["data"]["call_id"] == ended["data"]["call_id"] == states[-1]["id"]
    assert ended["data"]["outcome"] == "booked"
    for headers, body in receiver.received:
        assert verify_signature(secret, headers[SIGNATURE_HEADER.lower()], body)
        assert not verify_signature(secret, headers[SIGNATURE_HEADER.lower()], body + b" ")
        assert not verify_signature("whsec_other", headers[SIGNATURE_HEADER.lower()], body)
        assert headers["booking-agent-event"] == json.loads(body)["id"]


async def test_a_failing_receiver_is_retried_with_back_off_and_the_log_shows_it(
    database: Database, api: TestClient, receiver: Receiver,
) -> None:
    operator, org = _operator(database, api, "Acme")
    hook = operator.request("POST", "/webhooks", json={
        "url": receiver.url, "events": ["call.ended"]}).json()
    receiver.answers = [500, 503]
    emit(database, org, "call.ended", {"call_id": "c1"})
    now = utc_now()

    assert await _deliver(database, now=now) == 1
    assert await _deliver(database, now=now + timedelta(seconds=5)) == 0  # not due yet
    assert await _deliver(database, now=now + timedelta(seconds=31)) == 1
    assert await _deliver(database, now=now + timedelta(seconds=31 + 61)) == 1

    [delivery] = operator.request("GET", f"/webhooks/{hook['id']}/deliveries").json()[
        "deliveries"]
    assert delivery["state"] == "delivered" and delivery["attempts"] == 3
    assert delivery["last_status_code"] == 204
    # The same event each time: a receiver drops repeats by its id.
    assert len({e["id"] for e in receiver.events()}) == 1 and len(receiver.received) == 3
    # Each attempt signed at its own time, and each signature verifies then.
    for headers, body in receiver.received:
        stamp = int(headers[SIGNATURE_HEADER.lower()].split(",")[0][2:])
        assert verify_signature(hook["secret"], headers[SIGNATURE_HEADER.lower()], body,
                                now=now.fromtimestamp(stamp, now.tzinfo))


async def test_deliveries_survive_a_restart_and_give_up_after_a_day(
    database: Database, api: TestClient, receiver: Receiver,
) -> None:
    operator, org = _operator(database, api, "Acme")
    operator.request("POST", "/webhooks", json={"url": receiver.url, "events": ["call.ended"]})
    receiver.answers = [500] * 100
    emit(database, org, "call.ended", {"call_id": "c1"})
    now = utc_now()
    assert await _deliver(database, now=now) == 1

    # A new process: a new engine on the same database, nothing carried over in memory.
    restarted = open_database(database.url.render_as_string(hide_password=False),
                              schema=database.schema)
    try:
        moment, attempts = now, 1
        while await _deliver(restarted, now=(moment := moment + timedelta(hours=1))):
            attempts += 1
        assert attempts > 5
        with restarted.session() as session:
            state = session.execute(text("SELECT state FROM webhook_deliveries")).scalar()
        assert state == "failed"
        assert moment - now <= GIVE_UP_AFTER + timedelta(hours=2)
    finally:
        restarted.dispose()


def test_webhooks_are_per_organisation(database: Database, api: TestClient,
                                       receiver: Receiver) -> None:
    acme, _ = _operator(database, api, "Acme")
    globex, _ = _operator(database, api, "Globex")
    hook = acme.request("POST", "/webhooks", json={"url": receiver.url,
                                                   "events": ["call.ended"]}).json()

    assert globex.request("GET", "/webhooks").json()["webhooks"] == []
    assert globex.request("GET", f"/webhooks/{hook['id']}/deliveries").status_code == 404
    assert globex.request("DELETE", f"/webhooks/{hook['id']}").status_code == 404
    assert acme.request("DELETE", f"/webhooks/{hook['id']}").status_code == 204


@pytest.mark.parametrize("body", [
    {"url": "ftp://example.com/hook", "events": ["call.ended"]},
    {"url": "not a url", "events": ["call.ended"]},
    {"url": "https://example.com/hook", "events": []},
    {"url": "https://example.com/hook", "events": ["booking.exploded"]},
    {"url": "https://example.com/hook", "events": ["call.ended"], "extra": 1},
])
def test_a_bad_webhook_registration_is_a_422_naming_the_field(
    database: Database, api: TestClient, body: dict[str, Any],
) -> None:
    operator, _ = _operator(database, api, "Acme")

    answer = operator.request("POST", "/webhooks", json=body)

    assert answer.status_code == 422 and answer.json()["problems"]
    assert operator.request("GET", "/webhooks").json()["webhooks"] == []


def test_without_a_token_key_webhooks_are_refused_clearly(database: Database) -> None:
    app = FastAPI()
    app.mount("/api/v1", create_operator_api(database, Settings(_env_file=None,
                                                                 openai_api_key=None)))
    with TestClient(app) as client:
        operator, _ = _operator(database, client, "Acme")
        answer = operator.request("POST", "/webhooks", json={
            "url": "https://example.com/hook", "events": ["call.ended"]})
    assert answer.status_code == 409 and "BOOKING_AGENT_TOKEN_KEY" in answer.json()["detail"]
