"""The console's guards over HTTP: CSRF tokens on every form, sign-in attempts limited,
the first-run page gone once an operator exists."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.console import FAILED_SIGN_INS, create_console
from app.operators.accounts import create_operator
from app.operators.test_calls import TestCalls
from app.settings import Settings
from storage.database import Database

PASSWORD = "correct horse battery"


@pytest.fixture
def client(database: Database) -> Iterator[TestClient]:
    app = FastAPI()
    app.mount("/console", create_console(
        database, TestCalls(database, Settings(_env_file=None, openai_api_key=None))))
    with TestClient(app, follow_redirects=False) as client:
        yield client


def _csrf(client: TestClient, path: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert found is not None
    return found.group(1)


def test_a_form_without_the_sessions_csrf_token_is_refused(
    client: TestClient, database: Database,
) -> None:
    create_operator(database, "ada@northwind.example", PASSWORD, "Northwind")
    token = _csrf(client, "/console/login")

    forged = client.post("/console/login", data={
        "email": "ada@northwind.example", "password": PASSWORD, "csrf": "guessed"})
    genuine = client.post("/console/login", data={
        "email": "ada@northwind.example", "password": PASSWORD, "csrf": token})

    assert forged.status_code == 403
    assert genuine.status_code == 303 and genuine.headers["location"].endswith("/campaigns")
    cookie = genuine.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    # Signed in, a form still needs the (new) token: a cross-site post does nothing.
    assert client.post("/console/campaigns", data={"name": "x"}).status_code == 403


def test_repeated_wrong_passwords_lock_sign_in_for_a_while(
    client: TestClient, database: Database,
) -> None:
    create_operator(database, "ada@northwind.example", PASSWORD, "Northwind")
    token = _csrf(client, "/console/login")
    wrong = {"email": "ada@northwind.example", "password": "not it at all", "csrf": token}

    answers = [client.post("/console/login", data=wrong).status_code
               for _ in range(FAILED_SIGN_INS + 1)]
    right = client.post("/console/login", data=wrong | {"password": PASSWORD})

    assert answers == [401] * FAILED_SIGN_INS + [429]
    assert right.status_code == 429  # even the right password, until the window passes


def test_the_first_run_page_makes_only_the_first_operator(
    client: TestClient, database: Database,
) -> None:
    assert client.get("/console/login").headers["location"].endswith("/setup")
    token = _csrf(client, "/console/setup")
    made = client.post("/console/setup", data={
        "organisation": "Northwind", "email": "ada@northwind.example", "password": PASSWORD,
        "csrf": token})
    assert made.status_code == 303

    client.cookies.clear()
    token = _csrf(client, "/console/login")
    again = client.post("/console/setup", data={
        "organisation": "Evil", "email": "eve@evil.example", "password": PASSWORD,
        "csrf": token})

    assert again.headers["location"].endswith("/login")
    assert client.get("/console/setup").headers["location"].endswith("/login")
