"""Intervals are half-open and compare real instants, even in a repeated DST hour."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from calendar_backend.interval import Interval

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
