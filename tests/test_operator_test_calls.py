"""Test calls over the operator API: the same dialogue and booking as a phone call, turn by
turn, recorded as the organisation's call, its booking cancellable, invisible to others."""

from __future__ import annotations

from typing import Any

import yaml

from tests.test_operator_api import DEMO, Operator, acme, client, globex  # noqa: F401

# The first time offered is taken, whatever the clock says when the test runs.
CALLER = ["sure that sounds good", "yes lets do that", "chris dot park at example dot com",
          "yes thats right", "central", "yes that works", "no thats all thanks bye"]


def _campaign(operator: Operator) -> dict[str, Any]:
    document = yaml.safe_load(DEMO.read_text())
    made = operator.request("POST", "/campaigns", json=document)
    assert made.status_code == 201, made.text
    return made.json()


def _call(operator: Operator, campaign_id: str, lines: list[str]) -> list[dict[str, Any]]:
    started = operator.request("POST", "/test-calls", json={
        "campaign_id": campaign_id, "caller_number": "+18885550147", "first_name": "Chris"})
    assert started.status_code == 201, started.text
    states = [started.json()]
    for said in lines:
        if states[-1]["ended"]:
            break
        answer = operator.request("POST", f"/test-calls/{states[-1]['id']}/say",
                                  json={"text": said})
        assert answer.status_code == 200, answer.text
        states.append(answer.json())
    return states


def test_an_operator_books_in_a_test_call_and_sees_its_record_and_booking(
    acme: Operator,  # noqa: F811
) -> None:
    campaign = _campaign(acme)

    states = _call(acme, campaign["id"], CALLER)

    opening = " ".join(line["text"] for line in states[0]["lines"])
    assert "Northwind Consulting" in opening and "book" not in opening.lower()
    assert any("C as in Charlie" in line["text"] for s in states for line in s["lines"])
    assert states[-1]["ended"] and states[-1]["outcome"] == "booked", states[-1]
    call_id = states[-1]["id"]
    record = acme.request("GET", f"/calls/{call_id}").json()
    assert record["outcome"] == "booked" and record["status"] == "completed"
    assert [t["text"] for t in record["transcript"] if t["role"] == "caller"] == CALLER
    assert [c["id"] for c in acme.request("GET", "/calls").json()["calls"]] == [call_id]
    [booking] = acme.request("GET", "/bookings").json()["bookings"]
    assert booking["status"] == "confirmed" and booking["call_id"] == call_id
    assert booking["attendee_email"] == "chris.park@example.com"


def test_an_operator_cancels_a_booking_made_in_a_test_call(acme: Operator) -> None:  # noqa: F811
    _call(acme, _campaign(acme)["id"], CALLER)
    [booking] = acme.request("GET", "/bookings").json()["bookings"]

    cancelled = acme.request("POST", f"/bookings/{booking['id']}/cancel")

    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = acme.request("POST", f"/bookings/{booking['id']}/cancel")  # a retried request
    assert again.status_code == 200 and again.json() == cancelled.json()


def test_another_organisation_sees_none_of_the_calls_and_bookings(
    acme: Operator, globex: Operator,  # noqa: F811
) -> None:
    states = _call(acme, _campaign(acme)["id"], CALLER)
    call_id = states[-1]["id"]
    [booking] = acme.request("GET", "/bookings").json()["bookings"]

    assert globex.request("GET", "/calls").json()["calls"] == []
    assert globex.request("GET", f"/calls/{call_id}").status_code == 404
    assert globex.request("GET", "/bookings").json()["bookings"] == []
    assert globex.request("GET", f"/bookings/{booking['id']}").status_code == 404
    assert globex.request("POST", f"/bookings/{booking['id']}/cancel").status_code == 404
    assert globex.request("GET", f"/test-calls/{call_id}").status_code == 404
    assert globex.request("POST", f"/test-calls/{call_id}/say",
                          json={"text": "hello"}).status_code == 404


def test_organisations_book_on_calendars_of_their_own(
    acme: Operator, globex: Operator,  # noqa: F811
) -> None:
    # Both callers take the first time offered: the same slot, each on its own calendar.
    _call(acme, _campaign(acme)["id"], CALLER)
    _call(globex, _campaign(globex)["id"], CALLER)

    [ours] = acme.request("GET", "/bookings").json()["bookings"]
    [theirs] = globex.request("GET", "/bookings").json()["bookings"]
    assert ours["start"] == theirs["start"] and ours["calendar_id"] != theirs["calendar_id"]


def test_a_test_call_of_an_unknown_campaign_or_with_a_bad_number_is_refused(
    acme: Operator,  # noqa: F811
) -> None:
    campaign = _campaign(acme)

    unknown = acme.request("POST", "/test-calls", json={"campaign_id": "nope"})
    bad_number = acme.request("POST", "/test-calls", json={
        "campaign_id": campaign["id"], "caller_number": "12345"})

    assert unknown.status_code == 404
    assert bad_number.status_code == 422
    assert bad_number.json()["problems"][0]["path"] == "caller_number"
    assert acme.request("GET", "/calls").json()["calls"] == []


def test_a_hung_up_test_call_is_recorded_and_takes_no_more_lines(
    acme: Operator,  # noqa: F811
) -> None:
    [started] = _call(acme, _campaign(acme)["id"], [])

    hung_up = acme.request("POST", f"/test-calls/{started['id']}/hang-up").json()

    assert hung_up["ended"] is True
    assert acme.request("GET", f"/calls/{started['id']}").json()["status"] == "completed"
    late = acme.request("POST", f"/test-calls/{started['id']}/say", json={"text": "hello"})
    assert late.status_code == 409 and "ended" in late.json()["detail"]
