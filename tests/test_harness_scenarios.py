"""Every shipped scenario is a test: the real dialogue and booking code, text for speech.

LLM scenarios run against the scripted fake OpenAI server over real HTTP/SSE; their
``llm_script`` is what the fake replays. Scenarios booking on their campaign's own Outlook
calendar (``calendar: {use: campaign}``) run against the Microsoft emulator, with the account
connected through it first.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.campaign_files import CampaignInvalid
from app.harness import CallResult, ScenarioInvalid, load_scenario, run_scenario
from app.settings import Settings
from storage.database import open_database
from tests.fakes.microsoft import fixtures
from tests.fakes.openai_server import FakeOpenAI
from tests.test_outlook_calls import connect

emulator, ms_settings = fixtures.emulator, fixtures.ms_settings

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((ROOT / "examples" / "scenarios").glob("*.yaml"))


def _settings() -> Settings:
    # No .env, no keys: a fresh machine.
    return Settings(_env_file=None, openai_api_key=None)


async def _run(path: Path, request: pytest.FixtureRequest) -> tuple[CallResult, FakeOpenAI | None]:
    data = yaml.safe_load(path.read_text())
    if (data.get("calendar") or {}).get("use") == "campaign":
        return await _run_on_outlook(path, data, request), None
    if data.get("policy") != "llm":
        return await run_scenario(path, settings=_settings()), None
    with FakeOpenAI(data.get("llm_script") or [], hang_seconds=10) as fake:
        return await run_scenario(path, settings=_settings(), llm_url=fake.url), fake


async def _run_on_outlook(path: Path, data: dict, request: pytest.FixtureRequest) -> CallResult:
    """The owner connects the campaign's account through the emulator, then the call runs."""
    settings: Settings = request.getfixturevalue("ms_settings")
    username = data["campaign"]["booking"]["calendar"].removeprefix("outlook:")
    database = open_database(settings.sqlalchemy_url())
    try:
        await connect(database, settings, request.getfixturevalue("emulator"), username)
    finally:
        database.dispose()
    return await run_scenario(path, settings=settings)


def test_there_are_at_least_six_scenarios() -> None:
    assert len(SCENARIOS) >= 6


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
async def test_scenario_meets_its_expectations(path: Path, request: pytest.FixtureRequest) -> None:
    scenario, _ = load_scenario(path)
    result, _ = await _run(path, request)
    problems = scenario.expect.check(result) if scenario.expect else []
    agent_lines = "\n".join(t["text"] for t in result.transcript if t["role"] == "agent")
    assert not problems, "\n".join([*problems, "--- agent said:", agent_lines])


async def test_llm_happy_path_books_through_tool_calls(request: pytest.FixtureRequest) -> None:
    result, fake = await _run(ROOT / "examples/scenarios/llm_happy_path.yaml", request)
    assert fake is not None
    names = [call["name"] for call in result.tool_calls]
    assert names == [
        "capture_email", "confirm_email", "set_caller_zone", "find_slots", "find_slots",
        "book_slot", "end_call",
    ]
    assert result.llm_fallbacks == 0
    assert result.bookings[0]["start"] == "2026-12-02T18:00:00Z"
    assert result.bookings[0]["attendees"] == ["chris.park@example.com"]
    first = fake.requests[0]
    assert first["messages"][0]["role"] == "system"
    assert "Never invent" in first["messages"][0]["content"]
    offered_tools = {tool["function"]["name"] for tool in first["tools"]}
    assert {"book_slot", "find_slots", "capture_email", "end_call"} <= offered_tools


@pytest.mark.parametrize("name", ["llm_fails_500", "llm_times_out"])
async def test_llm_failure_mid_call_hands_over_to_the_guided_policy_which_books(
    name: str, request: pytest.FixtureRequest
) -> None:
    result, _ = await _run(ROOT / f"examples/scenarios/{name}.yaml", request)
    assert result.llm_fallbacks == 1
    assert result.outcome == "booked"
    assert len(result.bookings) == 1


async def test_booked_slot_was_free_and_offered_in_every_scenario(
    request: pytest.FixtureRequest,
) -> None:
    # The agent never says a time that is not a free slot: every offered time came from the
    # booking service's free slots, and every booking is at a time the caller was offered.
    for path in SCENARIOS:
        result, _ = await _run(path, request)
        offered = {
            slot["time"]
            for call in result.tool_calls if call["name"] == "find_slots"
            for slot in call["result"].get("slots", [])
        }
        offered |= {
            slot["time"]
            for call in result.tool_calls if call["name"] in ("book_slot", "reschedule_booking")
            for slot in call["result"].get("slots", [])
        }
        for call in result.tool_calls:
            if call["name"] in ("book_slot", "reschedule_booking") and call["result"]["ok"]:
                assert call["result"]["time"] in offered, path.stem


def test_cli_scripted_json_prints_one_object_with_transcript_bookings_outcome(
    tmp_path: Path,
) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "app.cli", "test-call", "--script",
         str(ROOT / "examples/scenarios/happy_path.yaml"), "--json"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert completed.returncode == 0, completed.stderr
    out = json.loads(completed.stdout)
    assert set(out) == {"transcript", "bookings", "outcome"}
    assert out["outcome"] == "booked"
    assert {t["role"] for t in out["transcript"]} == {"agent", "caller"}
    booking = out["bookings"][0]
    assert booking["status"] == "confirmed"
    assert booking["attendees"] == ["chris.park@example.com"]
    start = datetime.fromisoformat(booking["start"].replace("Z", "+00:00"))
    assert start == datetime(2026, 12, 2, 18, tzinfo=UTC)


def test_cli_refuses_a_broken_scenario_with_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("campaign: ../nowhere.yaml\nnow: 2026-12-01T14:00:00\nwho: me\n")
    completed = subprocess.run(
        [sys.executable, "-m", "app.cli", "test-call", "--script", str(bad)],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )
    assert completed.returncode == 2
    assert "who" in completed.stderr


DEMO_CAMPAIGN = str(ROOT / "examples" / "campaigns" / "demo.yaml")


def _scenario_problem(tmp_path: Path, data: bytes) -> str:
    path = tmp_path / "scenario.yaml"
    path.write_bytes(data)
    with pytest.raises(ScenarioInvalid) as caught:
        load_scenario(path)
    assert str(caught.value).startswith(f"{path}: ")
    return str(caught.value)


def test_a_scenario_file_that_is_not_utf8_or_nested_too_deeply_is_refused(tmp_path: Path) -> None:
    assert "line 3: not UTF-8 text (byte 0xe9)" in _scenario_problem(
        tmp_path, f"campaign: {DEMO_CAMPAIGN}\ncaller_says:\n  - caf\xe9\n".encode("latin-1"))
    assert "nested too deeply" in _scenario_problem(
        tmp_path, b"caller_says: " + b"[" * 50_000 + b"]" * 50_000)


@pytest.mark.parametrize("line", [
    "now: 9999-12-31T23:00:00Z",
    "now: 0001-01-01T00:00:00+05:00",
    "calendar: {busy: [{start: '0001-01-01T00:00:00+05:00', end: '2026-12-01T00:00:00Z'}]}",
    "expect: {booked_at: '9999-12-31T23:59:59-05:00'}",
])
def test_scenario_times_near_the_ends_of_the_datetime_range_are_refused(
        tmp_path: Path, line: str) -> None:
    problem = _scenario_problem(tmp_path, f"campaign: {DEMO_CAMPAIGN}\n{line}\n".encode())
    assert "is out of range: use a year from 1900 to 8999" in problem


@pytest.mark.parametrize(("line", "field"), [
    ("events: [{after_turn: 1, concurrent_booking: 0}]", "events.0.concurrent_booking"),
    ("llm_timeout_seconds: .inf", "llm_timeout_seconds"),
])
def test_scenario_numbers_are_bounded(tmp_path: Path, line: str, field: str) -> None:
    assert field in _scenario_problem(tmp_path, f"campaign: {DEMO_CAMPAIGN}\n{line}\n".encode())


_SCENARIO_LINES = st.sampled_from([
    f"campaign: {DEMO_CAMPAIGN}", "campaign: {name: x}", "campaign: nowhere.yaml", "campaign: 5",
    "now: 2026-12-01T14:00:00Z", "now: 2026-12-01T14:00:00", "now: 9999-12-31T23:59:59Z",
    "now: 1.5", "caller: {number: '+12125550100'}", "caller: []",
    "calendar: {busy: [{start: 2026-12-02T14:00:00Z, end: 2026-12-02T15:00:00Z}]}",
    "calendar: {use: campaign, connection: expired}", "caller_says: [yes, no]",
    "events: [{after_turn: -1}]", "events: [{after_turn: 99999999999999999999}]",
    "llm_timeout_seconds: -1", "policy: llm", "expect: {bookings: 1}", "expect: 7", "who: me",
]) | st.text(max_size=20)


@given(data=st.one_of(
    st.lists(_SCENARIO_LINES, max_size=6).map(lambda lines: "\n".join(lines).encode()),
    st.binary(max_size=100),
))
@example(data=b'campaign: "a\\0b.yaml"\n')  # a NUL in the campaign's path
@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_scenario_file_loads_or_is_refused_naming_the_file(tmp_path: Path,
                                                               data: bytes) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_bytes(data)
    try:
        load_scenario(path)
    except (ScenarioInvalid, CampaignInvalid) as exc:
        assert str(path) in str(exc) or "invalid campaign" in str(exc)


def test_cli_refuses_an_out_of_range_scenario_clock_with_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"campaign: {DEMO_CAMPAIGN}\nnow: 9999-12-31T23:59:59-05:00\n")
    completed = subprocess.run(
        [sys.executable, "-m", "app.cli", "test-call", "--script", str(bad)],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr and "now: " in completed.stderr
