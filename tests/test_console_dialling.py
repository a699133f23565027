"""The console's contacts and dialling page: upload a contact list (refused whole, every bad
row named), start, pause, resume and stop, and see progress; another organisation's campaign
is not found."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.operators.accounts import create_operator
from app.operators.campaigns import create_campaign
from storage.database import Database
from telephony.dialling import progress
from tests import test_console_security as security
from tests.test_console_security import PASSWORD, _csrf
from tests.test_dialling_api import CSV, SPRING

client = security.client


def _signed_in(client: TestClient, database: Database, organisation: str):
    """An operator of ``organisation`` signed in on ``client``, with the spring campaign."""
    made = create_operator(database, f"ada@{organisation.lower()}.example", PASSWORD,
                           organisation)
    signed = client.post("/console/login", data={
        "email": made.email, "password": PASSWORD, "csrf": _csrf(client, "/console/login")})
    assert signed.status_code == 303
    # A number is one organisation's: each calls out from its own.
    number = {"Acme": "+14155550100", "Globex": "+14155550199"}[organisation]
    return made.organisation, create_campaign(database, made.organisation, {
        **SPRING, "name": f"spring-{organisation}", "phone_numbers": [number]})


def _upload(client: TestClient, page: str, text: str):
    return client.post(f"{page.removesuffix('/dialling')}/contacts",
                       data={"csrf": _csrf(client, page)},
                       files={"contacts": ("contacts.csv", text.encode(), "text/csv")})


def test_operator_uploads_contacts_then_starts_pauses_and_resumes_dialling(
        client: TestClient, database: Database) -> None:
    org, campaign = _signed_in(client, database, "Acme")
    page = f"/console/campaigns/{campaign.id}/dialling"
    assert "No contacts yet" in client.get(page).text

    uploaded = _upload(client, page, CSV)

    assert uploaded.status_code == 303 and uploaded.headers["location"].endswith(page)
    shown = client.get(page).text
    assert "0 of 2 contacts finished" in shown and "paused" in shown
    assert "+12125550101" in shown and "Ann" in shown  # the contacts are listed
    assert "Start dialling" in shown
    for action, state in (("start", "running"), ("pause", "paused"), ("resume", "running"),
                          ("stop", "stopped")):
        done = client.post(f"/console/campaigns/{campaign.id}/dialling/{action}",
                           data={"csrf": _csrf(client, page)})
        assert done.status_code == 303
        found = progress(database, campaign.name, organisation_id=org.id)
        assert found is not None and found.state == state, action


def test_a_contact_list_with_bad_rows_is_refused_whole_with_every_row_named(
        client: TestClient, database: Database) -> None:
    org, campaign = _signed_in(client, database, "Acme")
    page = f"/console/campaigns/{campaign.id}/dialling"
    bad = "first_name,phone\nAnn,+12125550101\nBo,not a number\nCy,\n"

    refused = _upload(client, page, bad)

    assert refused.status_code == 422
    assert "row 3" in refused.text and "row 4" in refused.text
    assert progress(database, campaign.name, organisation_id=org.id) is None


def test_dialling_needs_a_contact_list_and_a_form_needs_its_csrf_token(
        client: TestClient, database: Database) -> None:
    org, campaign = _signed_in(client, database, "Acme")
    page = f"/console/campaigns/{campaign.id}/dialling"
    early = client.post(f"/console/campaigns/{campaign.id}/dialling/start",
                        data={"csrf": _csrf(client, page)})
    assert early.status_code == 404 and "upload its contact list first" in early.text
    forged = client.post(f"/console/campaigns/{campaign.id}/contacts", data={"csrf": "x"},
                         files={"contacts": ("c.csv", CSV.encode(), "text/csv")})
    assert forged.status_code == 403
    assert progress(database, campaign.name, organisation_id=org.id) is None


def test_another_organisations_campaign_is_not_found(
        client: TestClient, database: Database) -> None:
    globex, theirs = _signed_in(client, database, "Globex")
    client.post("/console/logout", data={"csrf": _csrf(client, "/console/campaigns")})
    _signed_in(client, database, "Acme")
    page = f"/console/campaigns/{theirs.id}/dialling"
    assert client.get(page).status_code == 404
    sneaky = client.post(f"/console/campaigns/{theirs.id}/contacts",
                         data={"csrf": _csrf(client, "/console/campaigns")},
                         files={"contacts": ("c.csv", CSV.encode(), "text/csv")})
    assert sneaky.status_code == 404
    assert progress(database, theirs.name, organisation_id=globex.id) is None
