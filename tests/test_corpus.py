"""The dialogue corpus: realistic calls (as a speech recogniser prints them) that the guided
dialogue must get right. Each file under tests/corpus/<category>/ is one test, run on the real
dialogue and booking code with a fresh embedded calendar; its ``expect`` says what must hold.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.harness import CallResult, Expect, load_scenario, run_scenario
from app.settings import Settings

CORPUS = Path(__file__).resolve().parent / "corpus"
FILES = sorted(CORPUS.glob("*/*.yaml"))
# Calls the dialogue does not get right yet, tracked rather than hidden: each is a strict xfail,
# so one that starts passing fails the run until it comes off the list.
KNOWN_FAILING = {
    entry.strip() for entry in (CORPUS / "known_failing.txt").read_text().splitlines()
    if entry.strip() and not entry.startswith("#")
}
CATEGORIES = {
    "consent_hold", "consent_questions", "call_back", "do_not_call", "goodbye", "email_repair",
    "email_two_turns", "email_give_up", "relative_times", "caller_hours",
    "latest_and_declines", "reschedule", "opener_interest", "faq_and_identity", "zones_world",
    "happy_paths", "no_booking", "slot_taken",
}


def test_corpus_has_at_least_150_calls_covering_every_category() -> None:
    assert len(FILES) >= 150
    assert {path.parent.name for path in FILES} == CATEGORIES


def _case(path: Path) -> object:
    name = f"{path.parent.name}/{path.stem}"
    marks = [pytest.mark.xfail(strict=True, reason="issue 11: not yet right")] if (
        name in KNOWN_FAILING) else []
    return pytest.param(path, id=name, marks=marks)


def test_every_known_failing_call_is_in_the_corpus() -> None:
    assert KNOWN_FAILING <= {f"{p.parent.name}/{p.stem}" for p in FILES}


@pytest.mark.parametrize("path", [_case(p) for p in FILES])
async def test_guided_dialogue_meets_the_call_expectations(path: Path) -> None:
    scenario, _ = load_scenario(path)
    assert scenario.policy == "guided" and scenario.expect is not None
    result = await run_scenario(path, settings=Settings(_env_file=None, openai_api_key=None))
    problems = scenario.expect.check(result)
    transcript = "\n".join(f"{t['role']}: {t['text']}" for t in result.transcript)
    assert not problems, "\n".join([*problems, "--- call:", transcript])


def _result(agent: list[str], *, bookings: list[dict] | None = None) -> CallResult:
    transcript = []
    for index, line in enumerate(agent):
        if index:
            transcript.append({"role": "caller", "text": f"line {index}"})
        transcript.append({"role": "agent", "text": line})
    return CallResult(transcript=transcript, bookings=bookings or [], outcome="booked")


def test_expect_check_compares_booked_at_as_instants_and_names_each_miss() -> None:
    booking = {"start": "2026-12-02T18:00:00Z", "end": "2026-12-02T18:30:00Z",
               "attendees": ["kim@example.com"], "status": "confirmed"}
    result = _result(["Hi, this is Alex.", "Booked for tomorrow. Goodbye!"], bookings=[booking])
    same_instant = Expect.model_validate(
        {"booked_at": "2026-12-02T13:00:00-05:00", "ended": True, "invited": "kim@example.com",
         "opening_absent_phrases": ["book"], "max_agent_turns": 2}
    )
    assert same_instant.check(result) == []
    missed = Expect.model_validate(
        {"booked_at": "2026-12-02T18:30:00Z", "ended": False, "max_agent_turns": 1,
         "opening_absent_phrases": ["Alex"], "call_back_requested": True,
         "answers": [{"to_line": 1, "absent_phrases": ["Booked for"]}]}
    )
    assert len(missed.check(result)) == 6
