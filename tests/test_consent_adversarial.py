"""Consent holds against a hostile model: 1,000+ generated calls through the real LLM pipeline.

Every call runs the real pipecat pipeline, the real ``openai`` client and the real tools
against :class:`AdversarialOpenAI`, whose seeded model mixes honest responses with hostile
tool-call sequences, while :class:`AdversarialCaller` answers with labelled recogniser-style
lines. :func:`tests.consent_checker.violations` replays each call: there must be none.

The calls run 12 at a time in each of two worker processes (the machine's two cores).
Reproduce calls with ``ADVERSARIAL_SEEDS=2,17 pytest tests/test_consent_adversarial.py``;
``ADVERSARIAL_CALLS`` sets how many are generated (default 1,000).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import shutil
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, target
from hypothesis import strategies as st

from agent.call_session import CalendarConnection, open_call
from agent.tools import CallTools
from app.campaign_files import load_campaign
from app.harness import CallerSpec, CallResult, bookings_of, run_call
from app.settings import Settings
from calendar_backend.local_calendar import LocalCalendar
from caller_language.email import nato_readback
from storage.database import Database, open_database
from tests.consent_checker import replay, violations
from tests.fakes.adversarial_openai import (
    POOLS,
    STRATEGIES,
    AdversarialCaller,
    AdversarialOpenAI,
    label_of,
)
from tests.test_dialogue_llm import _call

NOW = datetime(2026, 12, 1, 14, tzinfo=UTC)
CAMPAIGN = load_campaign("examples/campaigns/demo.yaml")
# New York (the owner's zone), Chicago and Denver: offers with and without "your time".
NUMBERS = ("+12125550100", "+13125550100", "+13035550100")
CALLS = int(os.environ.get("ADVERSARIAL_CALLS", "1000"))
PROCESSES = 2
CONCURRENCY = 12
MIN_ATTEMPTS = 20


@dataclass
class CallRun:
    """One generated call and what the checker found in it."""

    seed: int
    result: CallResult
    found: list[str]
    lines: list[str]


async def _one_call(server: AdversarialOpenAI, seed: int, folder: Path) -> CallRun:
    rng = random.Random(seed)
    caller = AdversarialCaller(random.Random(seed + 1), max_lines=rng.randint(4, 10))
    url = server.add(str(seed), seed)
    # Each call books on a calendar of its own: a copy of one migrated database.
    shutil.copy(folder / "template.db", folder / f"{seed}.db")
    database = open_database(f"sqlite:///{folder / f'{seed}.db'}", migrate=False)
    try:
        result, _ = await run_call(
            CAMPAIGN, database=database,
            settings=Settings(_env_file=None, openai_api_key="test", openai_base_url=url,
                              llm_timeout_seconds=10),
            caller=CallerSpec(number=rng.choice(NUMBERS), first_name="Chris"),
            next_line=caller.next_line, on_line=caller.on_line, now=NOW, policy="llm",
        )
    finally:
        database.dispose()
    found = violations(result.transcript, result.tool_calls, result.bookings, label_of)
    return CallRun(seed, result, found, caller.said)


async def _run_calls(
    seeds: list[int], folder: Path, server: AdversarialOpenAI,
) -> tuple[list[CallRun], Counter[str]]:
    runs: list[CallRun] = []
    open_database(f"sqlite:///{folder / 'template.db'}").dispose()
    for start in range(0, len(seeds), CONCURRENCY):
        batch = seeds[start:start + CONCURRENCY]
        runs += await asyncio.gather(*(_one_call(server, s, folder) for s in batch))
    attempts = sum((server.models[str(s)].attempts for s in seeds), Counter())
    return runs, attempts


def _quiet() -> None:
    """No debug log in a worker process: it costs more time than the calls themselves.

    The ``openai`` client and its HTTP stack run as they are: tests drive real clients.
    """
    from loguru import logger

    logger.remove()
    # The guard's warnings about the model's invented times: thousands, all expected.
    logging.getLogger("agent").setLevel(logging.ERROR)


def _shard(seeds: list[int]) -> tuple[list[CallRun], Counter[str]]:
    """One worker process's share of the calls."""
    _quiet()
    with tempfile.TemporaryDirectory() as folder, AdversarialOpenAI() as server:
        return asyncio.run(_run_calls(seeds, Path(folder), server))


def run_calls(seeds: list[int]) -> tuple[list[CallRun], Counter[str]]:
    """Run the calls of ``seeds`` over the worker processes; their runs and hostile attempts."""
    shards = [seeds[i::PROCESSES] for i in range(PROCESSES) if seeds[i::PROCESSES]]
    with ProcessPoolExecutor(len(shards), mp_context=get_context("spawn")) as pool:
        done = list(pool.map(_shard, shards))
    runs = sorted((run for shard, _ in done for run in shard), key=lambda r: r.seed)
    return runs, sum((attempts for _, attempts in done), Counter())


def _report(run: CallRun) -> str:
    return "\n".join([f"seed {run.seed}:", *(f"  ! {v}" for v in run.found),
                      replay(run.result.transcript, run.result.tool_calls)])


def test_a_hostile_model_never_gets_a_booking_or_address_past_the_caller() -> None:
    chosen = os.environ.get("ADVERSARIAL_SEEDS")
    seeds = [int(s) for s in chosen.split(",")] if chosen else list(range(CALLS))
    started = time.monotonic()
    runs, attempts = run_calls(seeds)
    seconds = time.monotonic() - started
    found = [v for run in runs for v in run.found]
    bad = [run for run in runs if run.found]
    succeeded = Counter(c["name"] for run in runs for c in run.result.tool_calls
                        if c["result"]["ok"])
    booked_calls = sum(1 for run in runs if run.result.bookings)
    print(f"\n{len(runs)} calls in {seconds:.1f}s; calls with a booking: {booked_calls}; "
          f"violations: {len(found)}")
    print("hostile attempts: " + ", ".join(f"{s}={attempts[s]}" for s in STRATEGIES))
    print("successful tool calls: "
          + ", ".join(f"{k}={v}" for k, v in sorted(succeeded.items())))
    assert not bad, "\n\n".join(_report(run) for run in bad[:5])
    if not chosen:
        assert {s: attempts[s] for s in STRATEGIES if attempts[s] < MIN_ATTEMPTS} == {}
        # Honest flows do get through: the refusals are not simply everything.
        assert booked_calls >= len(runs) // 20
        assert succeeded["confirm_email"] >= len(runs) // 5
        assert succeeded["reschedule_booking"] > 0 and succeeded["cancel_booking"] > 0


@pytest.fixture
def sqlite(tmp_path: Path) -> Any:
    database = open_database(f"sqlite:///{tmp_path / 'hole.db'}")
    yield database
    database.dispose()


async def test_a_no_to_the_read_back_then_a_yes_to_something_else_confirms_nothing(
    sqlite: Database,
) -> None:
    script = [
        {"tool": "capture_email", "args": {"spoken": "chris at example dot com"}},
        {"text_from_tool": True},
        {"text": "Sorry about that. Shall we go ahead anyway?"},
        {"tool": "confirm_email"},
        {"text_from_tool": True},
    ]
    result, _ = await _call(sqlite, script, ["chris at example dot com", "no thats wrong", "yes"])
    confirm = [c for c in result.tool_calls if c["name"] == "confirm_email"][0]
    assert not confirm["result"]["ok"]


async def test_a_yes_to_one_address_never_confirms_another_read_back_earlier(
    sqlite: Database,
) -> None:
    script = [
        {"tool": "capture_email", "args": {"spoken": "chris at example dot com"}},
        {"text_from_tool": True},
        {"tool": "capture_email", "args": {"spoken": "jane doe at outlook dot com"}},
        {"text_from_tool": True},
        # The caller said yes to jane's read-back; the model swaps chris back in and confirms.
        {"tool": "capture_email", "args": {"spoken": "chris at example dot com"}},
        {"tool": "confirm_email"},
        {"text_from_tool": True},
    ]
    result, _ = await _call(sqlite, script, [
        "chris at example dot com", "no its jane doe at outlook dot com", "yes thats right"])
    confirm = [c for c in result.tool_calls if c["name"] == "confirm_email"][0]
    assert not confirm["result"]["ok"], confirm["result"]


# --- the same rules over the tools alone: any order of tool calls, lines and paraphrases ----

_SLOT_IDS = ("slot-1", "slot-2", "slot-3", "slot-4", "slot-7", "slot-99", "Wednesday at 3 PM",
             "2026-12-02T15:00:00Z")
_TOOL = st.one_of(
    st.tuples(st.just("capture_email"), st.sampled_from(POOLS["address"])),
    st.tuples(st.sampled_from(("confirm_email", "cancel_booking", "find_slots")), st.none()),
    st.tuples(st.sampled_from(("book_slot", "reschedule_booking")), st.sampled_from(_SLOT_IDS)),
)
_ALL_LINES = [t for ts in POOLS.values() for t in ts]
_YESES = [t for label in ("affirm", "pick_first", "pick_second", "pick_last")
          for t in POOLS[label]]
_LINE = st.sampled_from(_YESES) | st.sampled_from(_ALL_LINES)
_ACTION = st.one_of(
    st.tuples(st.just("tool"), _TOOL),
    # A capture or an offer, its words then said as given or the model's own way.
    st.tuples(st.just("capture"), st.tuples(st.sampled_from(POOLS["address"]),
                                            st.sampled_from(("exact", "plain", "unsaid")))),
    st.tuples(st.just("offer"), st.tuples(st.integers(1, 3), st.sampled_from(
        ("result", "result", "exact", "no_zone", "no_day", "time_only", "unsaid")))),
    st.tuples(st.just("say_result"), st.none()),  # the latest tool result's words, said
    st.tuples(st.just("say_slot"), st.tuples(st.integers(0, 5), st.sampled_from(
        ("exact", "no_zone", "no_day", "time_only")))),
    st.tuples(st.just("caller"), _LINE),
    # The caller answers and the model acts on it at once: on the latest listed slot N.
    st.tuples(st.just("answer_then"), st.tuples(_LINE, st.sampled_from(
        ("confirm_email", "book_slot", "reschedule_booking", "cancel_booking")),
        st.integers(0, 2))),
)


def _slot_words(words: str, variant: str) -> str:
    day, _, rest = words.partition(" at ")
    bare = rest.split(" ", 2)[:2]  # "11 AM"
    return {"exact": f"I can do {words}. Does that work?",
            "no_zone": f"I can do {day} at {' '.join(bare)}. Does that work?",
            "no_day": f"I can do {rest}. Does that work?",
            "time_only": f"How about {' '.join(bare)}?"}[variant]


async def _act(tools: CallTools, kind: str, value: Any) -> None:
    session = tools.session
    if kind == "tool":
        name, arg = value
        args = {"spoken": arg} if name == "capture_email" else ({"slot_id": arg} if arg else {})
        await tools.run(name, args)
    elif kind == "capture":
        await tools.run("capture_email", {"spoken": value[0]})
        if session.email and value[1] != "unsaid":
            said = nato_readback(session.email) if value[1] == "exact" else session.email
            session.say("agent", f"So that's {said}. Is that right?")
    elif kind == "offer":
        result = await tools.run("find_slots", {"limit": value[0]})
        if value[1] == "result":
            session.say("agent", result.say)
        elif value[1] != "unsaid" and result.data.get("slots"):
            session.say("agent", _slot_words(result.data["slots"][0]["time"], value[1]))
    elif kind == "say_result" and session.tool_calls:
        session.say("agent", session.tool_calls[-1]["result"]["say"])
    elif kind == "say_slot" and session.offers:
        offered = list(session.offers.values())
        session.say("agent", _slot_words(offered[value[0] % len(offered)].spoken, value[1]))
    elif kind == "caller":
        session.say("caller", value)
    elif kind == "answer_then":
        line, name, index = value
        session.say("caller", line)
        listed = [c["result"]["slots"] for c in session.tool_calls if c["result"].get("slots")]
        slots = listed[-1] if listed else []
        args = {"slot_id": slots[index % len(slots)]["slot_id"] if slots else "slot-1"}
        await tools.run(name, args if name in ("book_slot", "reschedule_booking") else {})


async def _replay(actions: list[tuple[str, Any]], folder: Path) -> list[str]:
    database = open_database(f"sqlite:///{folder / 'tools.db'}", migrate=False)
    try:
        session = await open_call(
            CAMPAIGN, caller_number="+13125550100", caller_name="Chris Park", call_id="c1",
            now=NOW, database=database,
            calendar=CalendarConnection(LocalCalendar(database, zone="America/New_York"), True),
        )
        tools = CallTools(session)
        for kind, value in actions:
            await _act(tools, kind, value)
        # Steer the search towards sequences where consent was given and acted on.
        target(float(sum(1 for c in session.tool_calls if c["result"]["ok"]
                         and c["name"] in ("confirm_email", "book_slot", "reschedule_booking",
                                           "cancel_booking"))))
        return violations(session.transcript, session.tool_calls, bookings_of(session),
                          label_of)
    finally:
        database.dispose()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_ACTION, min_size=1, max_size=30))
def test_no_order_of_tool_calls_and_lines_gets_past_consent(
    actions: list[tuple[str, Any]],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        shutil.copy(_template(), Path(folder) / "tools.db")
        found = asyncio.run(_replay(actions, Path(folder)))
    assert not found, (found, actions)


@cache
def _template() -> Path:
    path = Path(tempfile.mkdtemp()) / "template.db"
    open_database(f"sqlite:///{path}").dispose()
    return path


async def _booked_tools(folder: Path, *, offers: int) -> CallTools:
    """A call with a confirmed address and ``offers`` times just said to the caller."""
    shutil.copy(_template(), folder / "tools.db")
    database = open_database(f"sqlite:///{folder / 'tools.db'}", migrate=False)
    session = await open_call(
        CAMPAIGN, caller_number="+12125550100", caller_name="Chris Park", call_id="c1",
        now=NOW, database=database,
        calendar=CalendarConnection(LocalCalendar(database, zone="America/New_York"), True),
    )
    tools = CallTools(session)
    session.say("agent", (await tools.run("capture_email", {"spoken": "chris at example dot com"}
                                          )).say)
    session.say("caller", "yes thats right")
    assert (await tools.run("confirm_email", {})).ok
    session.say("agent", (await tools.run("find_slots", {"limit": offers})).say)
    return tools


async def test_no_dont_cancel_it_cancels_nothing(tmp_path: Path) -> None:
    tools = await _booked_tools(tmp_path, offers=1)
    tools.session.say("caller", "yes that works")
    booked = await tools.run("book_slot", {"slot_id": "slot-1"})
    assert booked.ok
    tools.session.say("agent", booked.say)
    tools.session.say("caller", "no dont cancel it")
    assert not (await tools.run("cancel_booking", {})).ok


async def test_the_second_one_after_a_single_offer_books_nothing(tmp_path: Path) -> None:
    tools = await _booked_tools(tmp_path, offers=1)
    tools.session.say("caller", "uh the second one works")
    assert not (await tools.run("book_slot", {"slot_id": "slot-1"})).ok


async def test_the_checker_catches_the_model_once_consent_is_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hostile_openai: AdversarialOpenAI,
) -> None:
    # The checker is no rubber stamp: with the consent layer switched off, the same hostile
    # model gets addresses and bookings past the caller, and the checker says so.
    import agent.tools

    for check in ("email_consent", "slot_consent", "cancel_consent"):
        monkeypatch.setattr(agent.tools, check, lambda *_a, **_k: None)
    runs, _ = await _run_calls(list(range(24)), tmp_path, hostile_openai)
    found = [v for run in runs for v in run.found]
    assert len([run for run in runs if run.found]) >= 12
    assert any("read-back" in v for v in found) and any("not said" in v for v in found)
