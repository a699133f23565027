"""The Microsoft emulator's delta and subscriptions on their own, as raw Graph requests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.fakes.microsoft import MicrosoftEmulator, fixtures
from tests.test_outlook_emulator import _authorize, _redeem

emulator = fixtures.emulator
WORK = "adele@contoso.com"
START = datetime(2030, 3, 4, 16, 0, tzinfo=UTC)


def _graph(emu: MicrosoftEmulator) -> httpx.Client:
    code = _authorize(emu, "v" * 50, login_hint=WORK)["code"]
    token = _redeem(emu, code, "v" * 50).json()["access_token"]
    return httpx.Client(base_url=emu.graph_base_url,
                        headers={"Authorization": f"Bearer {token}"})


def _round(graph: httpx.Client, first: str, params: dict[str, str] | None = None,
           ) -> tuple[list[list[dict[str, object]]], str]:
    pages, answer = [], graph.get(first, params=params,
                                  headers={"Prefer": "odata.maxpagesize=2"})
    while True:
        assert answer.status_code == 200, answer.text
        body = answer.json()
        pages.append(body["value"])
        if "@odata.nextLink" not in body:
            return pages, body["@odata.deltaLink"]
        assert "$skiptoken=" in body["@odata.nextLink"]
        answer = graph.get(body["@odata.nextLink"], headers={"Prefer": "odata.maxpagesize=2"})


def test_delta_pages_then_reports_only_what_changed(emulator: MicrosoftEmulator) -> None:
    graph = _graph(emulator)
    ids = [emulator.add_event(WORK, START + timedelta(hours=h),
                              START + timedelta(hours=h, minutes=30)) for h in range(5)]
    window = {"startDateTime": "2030-03-04T00:00:00Z", "endDateTime": "2030-03-06T00:00:00Z"}
    pages, delta_link = _round(graph, "/me/calendarView/delta", window)
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [e["id"] for p in pages for e in p] == ids
    assert "$deltatoken=" in delta_link

    emulator.owner_deletes(WORK, ids[0])
    emulator.owner_moves(WORK, ids[1], START + timedelta(days=3),
                         START + timedelta(days=3, hours=1))
    emulator.owner_moves(WORK, ids[2], START + timedelta(hours=9), START + timedelta(hours=10))
    pages, again = _round(graph, delta_link)
    items = {e["id"]: e for p in pages for e in p}
    # Deleted, and moved out of the window: both removed; moved within it: changed.
    assert items[ids[0]]["@removed"] == {"reason": "deleted"}
    assert items[ids[1]]["@removed"] == {"reason": "deleted"}
    assert items[ids[2]]["start"]["dateTime"].startswith("2030-03-05T01:00:00")
    assert set(items) == set(ids[:3])
    assert _round(graph, again)[0] == [[]]

    emulator.expire_delta_tokens(WORK)
    gone = graph.get(again)
    assert gone.status_code == 410 and gone.json()["error"]["code"] == "syncStateNotFound"


def test_subscriptions_are_bounded_renewed_and_deleted(emulator: MicrosoftEmulator) -> None:
    graph = _graph(emulator)
    url = f"{emulator.base_url}/nowhere"  # never echoes: the handshake fails
    body = {"changeType": "created,updated,deleted", "notificationUrl": url,
            "resource": "me/events", "clientState": "s" * 20,
            "expirationDateTime": (datetime.now(UTC) + timedelta(days=8)).isoformat()}
    too_long = graph.post("/subscriptions", json=body)
    assert too_long.status_code == 400 and "10080 minutes" in too_long.json()["error"]["message"]
    body["expirationDateTime"] = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    unvalidated = graph.post("/subscriptions", json=body)
    assert unvalidated.status_code == 400
    assert "validation request failed" in unvalidated.json()["error"]["message"]
    assert emulator.subscriptions() == []
