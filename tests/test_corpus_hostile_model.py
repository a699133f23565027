"""The corpus's consent calls again, on the LLM policy with a hostile model as the LLM.

The categories whose point is consent: ``consent_hold`` (a hold is no yes),
``consent_questions`` (nor a question, nor a "no"), ``call_back`` and ``do_not_call`` (a request
to end the call books nothing), ``reschedule`` (a move needs a yes to the new time) and
``latest_and_declines`` (declines, asked-for times and picks such as "the first one"). Each of
their scenarios is played with its own caller lines, clock, campaign and calendar on the LLM
policy, with :class:`AdversarialOpenAI` as the model (offering one time at a time, as the guided
agent does, so the lines' yeses meet single offers), once per strategy: a mostly honest model
(bookings and moves do happen) and a mostly hostile one (it confirms unheard addresses, books
unsaid, invented or typed times, books twice, cancels unasked). Then:

* :func:`tests.consent_checker.violations` finds nothing in the transcript, reading each caller
  line by its hand-written label (``tests/corpus/consent_labels.yaml``);
* nothing exists that the scenario's guided expectation rules out: never more bookings than it
  expects, no move or cancel the caller never asked for;
* the agent never says the parser internals the scenario lists under ``absent_phrases``.
"""

from __future__ import annotations

import zlib
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from app.harness import CallResult, Expect, load_scenario, run_scenario
from app.settings import Settings
from tests.consent_checker import INTERNALS, replay, violations
from tests.fakes.adversarial_openai import AdversarialOpenAI
from tests.test_corpus import CORPUS

CONSENT_CATEGORIES = (
    "consent_hold", "consent_questions", "call_back", "do_not_call", "reschedule",
    "latest_and_declines",
)
FILES = sorted(p for c in CONSENT_CATEGORIES for p in (CORPUS / c).glob("*.yaml"))
# How often the model attacks, by strategy.
STRATEGIES = {"mostly_honest": 0.1, "hostile": 0.8}


@cache
def _labels() -> dict[str, str]:
    data = yaml.safe_load((CORPUS / "consent_labels.yaml").read_text(encoding="utf-8"))
    labels = {line: label for label, lines in data.items() for line in lines}
    assert len(labels) == sum(len(lines) for lines in data.values()), "a line labelled twice"
    return labels


def label(line: str) -> str:
    """What a person hears in a corpus caller line (KeyError: the line has no label yet)."""
    return _labels()[line]


def _model_label(line: str) -> str:
    # The model reads "affirm thursday" as a plain yes: the day only narrows what it consents to.
    return label(line).partition(" ")[0]


def _weekday(moment: datetime, zone: str) -> str:
    """The weekday of ``moment`` on the owner's clock, whose day the slots' "today" names."""
    return moment.astimezone(ZoneInfo(zone)).strftime("%A").lower()


def test_every_caller_line_of_the_consent_scenarios_has_a_label() -> None:
    said = {line for path in FILES for line in load_scenario(path)[0].caller_says}
    assert len(FILES) >= 50
    assert sorted(said - set(_labels())) == []
    assert sorted(set(_labels()) - said) == []


def _unexpected(expect: Expect, result: CallResult, lines: list[str]) -> list[str]:
    """What the LLM call holds that the guided expectation and the caller's lines rule out."""
    problems = []
    allowed = expect.bookings if expect.bookings is not None else int(expect.outcome == "booked")
    if len(result.bookings) > allowed:
        problems.append(f"{len(result.bookings)} bookings, the guided call expects {allowed}")
    asked = {label(line).partition(" ")[0] for line in lines}
    for status, request in (("moved", "move"), ("cancelled", "cancel")):
        if request not in asked and any(b["status"] == status for b in result.bookings):
            problems.append(f"a booking was {status}, but the caller never asked to {request}")
    internals = [p for p in expect.absent_phrases if p in INTERNALS]
    problems += [f"agent said {p!r}" for p in internals
                 for entry in result.transcript
                 if entry["role"] == "agent" and p in entry["text"]]
    return problems


@pytest.mark.parametrize("strategy", list(STRATEGIES))
@pytest.mark.parametrize("path", [
    pytest.param(p, id=f"{p.parent.name}/{p.stem}") for p in FILES])
async def test_consent_scenarios_hold_against_a_hostile_model(
    path: Path, strategy: str, hostile_openai: AdversarialOpenAI,
) -> None:
    scenario, campaign = load_scenario(path)
    assert scenario.expect is not None and scenario.now is not None
    key = f"{path.parent.name}.{path.stem}.{strategy}"
    url = hostile_openai.add(key, seed=zlib.crc32(key.encode()), label=_model_label,
                             hostile_share=STRATEGIES[strategy], offers=1)
    result = await run_scenario(
        path, settings=Settings(_env_file=None, openai_api_key="test", llm_timeout_seconds=10),
        llm_url=url, policy="llm",
    )
    # The model carried the whole call: no turn fell back to the guided policy.
    assert result.llm_fallbacks == 0, replay(result.transcript, result.tool_calls)
    problems = [
        *violations(result.transcript, result.tool_calls, result.bookings, label,
                    today=_weekday(scenario.now, campaign.booking.availability.timezone or "UTC")),
        *_unexpected(scenario.expect, result, scenario.caller_says),
    ]
    attempts = dict(hostile_openai.models[key].attempts)
    assert not problems, "\n".join([*problems, f"--- hostile attempts: {attempts}",
                                    replay(result.transcript, result.tool_calls)])
