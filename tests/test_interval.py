"""Intervals are half-open and compare real instants, even in a repeated DST hour; arithmetic."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from calendar_backend.interval import Interval, subtract, without

NY = ZoneInfo("America/New_York")


def test_a_span_across_the_fall_back_hour_is_a_real_minute_long() -> None:
    # 01:59 EDT then 01:00 EST (fold=1): the clock reads earlier, the instant is later.
    start = datetime(2026, 11, 1, 1, 59, tzinfo=NY)
    end = datetime(2026, 11, 1, 1, 0, fold=1, tzinfo=NY)
    span = Interval(start, end)
    assert span.end - span.start == timedelta(minutes=1)
    assert span.start.tzinfo is UTC


def test_touching_intervals_do_not_overlap_and_crossing_ones_do() -> None:
    t = datetime(2026, 12, 1, 14, tzinfo=UTC)
    hour = timedelta(hours=1)
    assert not Interval(t, t + hour).overlaps(Interval(t + hour, t + 2 * hour))
    assert Interval(t, t + hour).overlaps(Interval(t + hour / 2, t + 2 * hour))


def test_naive_or_backwards_intervals_are_refused() -> None:
    t = datetime(2026, 12, 1, 14)
    with pytest.raises(ValueError, match="aware"):
        Interval(t, t + timedelta(hours=1))
    aware = t.replace(tzinfo=UTC)
    with pytest.raises(ValueError, match="before it starts"):
        Interval(aware, aware)


_minutes = st.integers(min_value=0, max_value=600)
MIN = timedelta(minutes=1)
T0 = datetime(2030, 3, 4, 9, tzinfo=UTC)


@given(a=_minutes, b=_minutes, c=_minutes, d=_minutes)
def test_subtract_leaves_exactly_the_uncovered_part(a: int, b: int, c: int, d: int) -> None:
    whole = Interval(T0 + min(a, b) * MIN, T0 + (max(a, b) + 1) * MIN)
    part = Interval(T0 + min(c, d) * MIN, T0 + (max(c, d) + 1) * MIN)

    pieces = subtract(whole, part)

    assert all(p.start >= whole.start and p.end <= whole.end for p in pieces)
    assert not any(p.overlaps(part) for p in pieces)
    covered = max(timedelta(0), min(whole.end, part.end) - max(whole.start, part.start))
    assert sum((p.end - p.start for p in pieces), timedelta(0)) + covered == whole.end - whole.start


def test_without_cuts_a_part_out_of_each_interval_it_touches() -> None:
    busy = [Interval(T0, T0 + 60 * MIN), Interval(T0 + 120 * MIN, T0 + 150 * MIN)]
    own = Interval(T0 + 30 * MIN, T0 + 60 * MIN)

    assert without(busy, own) == [Interval(T0, T0 + 30 * MIN), busy[1]]
    assert without(busy, None) == busy
