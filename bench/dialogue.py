"""Replay the dialogue corpus and measure the dialogue's own time per caller turn.

Every scenario under ``--corpus`` (default tests/corpus) runs on the guided policy, a fresh
embedded calendar (temporary SQLite), no LLM and no speech. The time of one caller turn is what
the dialogue records itself: ``session.turn_timings`` entries of kind ``"turn"``, from the
caller's line reaching the dialogue processor to its answer being pushed (the opener, which
answers no caller line, is left out). Prints per-category counts, and as its last line
``turns=<n> p50_ms=<x> p99_ms=<y>``.

    PYTHONPATH=. python bench/dialogue.py [--corpus DIR] [--repeat N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from collections import Counter
from pathlib import Path

from app.cli.test_call import _quiet_pipecat
from app.harness import load_scenario, run_call, scripted_input
from app.settings import Settings
from storage.database import open_database

DEFAULT_CORPUS = Path(__file__).resolve().parent.parent / "tests" / "corpus"


async def replay(path: Path, settings: Settings) -> tuple[list[float], bool]:
    """One call on the guided policy: its caller-turn times (seconds) and whether it met
    its expectations."""
    scenario, campaign = load_scenario(path)
    with tempfile.TemporaryDirectory(prefix="bench-dialogue-") as tmp:
        database = open_database(f"sqlite:///{Path(tmp) / 'bench.db'}")
        try:
            result, session = await run_call(
                campaign, database=database, settings=settings, caller=scenario.caller,
                next_line=scripted_input(scenario.caller_says), now=scenario.now,
                calendar=scenario.calendar, policy="guided", events=scenario.events,
            )
        finally:
            database.dispose()
    turns = [t["seconds"] for t in session.turn_timings if t["kind"] == "turn"][1:]
    met = scenario.expect is None or not scenario.expect.check(result)
    return turns, met


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile of ``values`` (``share`` in 0..1)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered)) - 1))]


async def main(corpus: Path, repeat: int) -> str:
    """Replay ``corpus`` ``repeat`` times; print per-category counts; return the summary."""
    settings = Settings(_env_file=None, openai_api_key=None)
    files = sorted(corpus.glob("*/*.yaml"))
    if not files:
        raise SystemExit(f"no scenario files under {corpus}/<category>/")
    calls: Counter[str] = Counter()
    met: Counter[str] = Counter()
    turns_of: Counter[str] = Counter()
    times: list[float] = []
    for _ in range(repeat):
        for path in files:
            category = path.parent.name
            turns, ok = await replay(path, settings)
            calls[category] += 1
            met[category] += ok
            turns_of[category] += len(turns)
            times += turns
    print(f"{'category':22} {'calls':>5} {'met':>5} {'turns':>6}")
    for category in sorted(calls):
        print(f"{category:22} {calls[category]:5} {met[category]:5} {turns_of[category]:6}")
    print(f"{'total':22} {sum(calls.values()):5} {sum(met.values()):5} {len(times):6}")
    if not times:
        return "turns=0 p50_ms=0 p99_ms=0"
    p50 = statistics.median(times) * 1000
    p99 = percentile(times, 0.99) * 1000
    return f"turns={len(times)} p50_ms={p50:.1f} p99_ms={p99:.1f}"


def cli() -> None:
    """``python bench/dialogue.py [--corpus DIR] [--repeat N]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS,
                        help="directory of <category>/<scenario>.yaml (default: tests/corpus)")
    parser.add_argument("--repeat", type=int, default=1, help="replay the corpus N times")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    _quiet_pipecat()  # pipecat logs every frame at DEBUG; the figures are the output here
    print(asyncio.run(main(args.corpus, args.repeat)))


if __name__ == "__main__":
    cli()
