"""Benchmark the slot engine: ``.venv/bin/python bench/slots.py [--days 90] [--busy 5000]``.

Builds random, unsorted busy intervals with a fixed seed over the look-ahead, then times
``free_slots`` (demo-campaign rules: Mon-Fri 09:00-17:00 New York, 30-minute slots every 30
minutes, 10-minute buffer after). The baseline, measured in the same run on the same input, is
the naive O(candidates x busy) engine: every candidate start checked against every busy
interval. Its result must equal the fast engine's, or the script fails. The last line is
machine-readable.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from zoneinfo import ZoneInfo

from calendar_backend.interval import Interval
from calendar_backend.slots import SlotRules, candidate_starts, free_slots

NOW = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)  # a span crossing the US and EU DST changes
SEED = 20260302


def _rules(days: int) -> SlotRules:
    return SlotRules(
        zone=ZoneInfo("America/New_York"),
        days=frozenset(range(5)),
        window_start=datetime.strptime("09:00", "%H:%M").time(),
        window_end=datetime.strptime("17:00", "%H:%M").time(),
        length=timedelta(minutes=30),
        step=timedelta(minutes=30),
        buffer_before=timedelta(0),
        buffer_after=timedelta(minutes=10),
        minimum_notice=timedelta(minutes=120),
        look_ahead=timedelta(days=days),
    )


def _busy(days: int, count: int) -> list[Interval]:
    """``count`` random meetings of 5 minutes to 2 hours anywhere in the look-ahead, unsorted."""
    rng = random.Random(SEED)
    span = days * 24 * 60
    out = []
    for _ in range(count):
        start = NOW + timedelta(minutes=rng.randrange(span))
        out.append(Interval(start, start + timedelta(minutes=rng.randrange(5, 121, 5))))
    return out


def _naive(rules: SlotRules, busy: list[Interval], now: datetime) -> list[Interval]:
    """The O(candidates x busy) reference."""
    return [
        rules.slot(start)
        for start in candidate_starts(rules, now)
        if not any(rules.blocked(start).overlaps(interval) for interval in busy)
    ]


def _time_ms(
    run: Callable[[], object], repeat: int, clock: Callable[[], float] = time.perf_counter
) -> list[float]:
    samples = []
    for _ in range(repeat):
        began = clock()
        run()
        samples.append((clock() - began) * 1000)
    return samples


def _p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the results; exit 1 if the engines disagree."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=90, help="look-ahead in days")
    parser.add_argument("--busy", type=int, default=5000, help="number of busy intervals")
    parser.add_argument("--repeat", type=int, default=200, help="timed runs of free_slots")
    parser.add_argument("--baseline-repeat", type=int, default=3, help="timed naive runs")
    args = parser.parse_args(argv)

    load = os.getloadavg()[0]
    rules = _rules(args.days)
    busy = _busy(args.days, args.busy)
    fast = free_slots(rules, busy, NOW)
    if fast != _naive(rules, busy, NOW):
        print("free_slots disagrees with the naive reference", file=sys.stderr)
        return 1

    samples = _time_ms(lambda: free_slots(rules, busy, NOW), args.repeat)
    # CPU time of this process too: on a shared machine it leaves out time spent descheduled.
    cpu = _time_ms(lambda: free_slots(rules, busy, NOW), args.repeat, time.process_time)
    baseline = _time_ms(lambda: _naive(rules, busy, NOW), args.baseline_repeat)
    sort_floor = _time_ms(lambda: sorted(busy, key=attrgetter("start")), args.repeat)
    p50, p99 = statistics.median(samples), _p99(samples)
    baseline_p50 = statistics.median(baseline)
    print(
        f"{len(candidate_starts(rules, NOW))} candidate starts, {len(busy)} busy intervals, "
        f"{len(fast)} free slots"
    )
    print(f"load average before the run: {load:.2f} on {os.cpu_count()} CPUs (noise if high)")
    print(f"free_slots:        p50 {p50:.3f} ms  p99 {p99:.3f} ms  ({args.repeat} runs)")
    print(f"free_slots CPU:    p50 {statistics.median(cpu):.3f} ms")
    print(f"naive reference:   p50 {baseline_p50:.3f} ms  ({args.baseline_repeat} runs)")
    print(f"sorting busy only: p50 {statistics.median(sort_floor):.3f} ms")
    print(
        f"days={args.days} busy={args.busy} p50_ms={p50:.3f} p99_ms={p99:.3f} "
        f"baseline_p50_ms={baseline_p50:.3f} ratio={baseline_p50 / p50:.1f} "
        f"cpu_p50_ms={statistics.median(cpu):.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
