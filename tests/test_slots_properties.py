"""Property tests: the slot engine against naive references, on random rules, zones and busy time.

Every drawn look-ahead contains a 2026 clock change of its zone, and half the windows sit
around the change's local time, so gaps and repeated hours land inside windows and slots.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from calendar_backend.interval import Interval
from calendar_backend.slots import SlotRules, candidate_starts, free_slots, is_offerable

# The 2026 clock changes of some zones, in UTC: US and EU changes a week apart, a
# 30-minute change (Lord Howe), a 45-minute offset (Chatham), a half-hour offset (St John's).
CHANGES = [
    ("America/New_York", datetime(2026, 3, 8, 7, tzinfo=UTC)),
    ("America/New_York", datetime(2026, 11, 1, 6, tzinfo=UTC)),
    ("Europe/Berlin", datetime(2026, 3, 29, 1, tzinfo=UTC)),
    ("Europe/Berlin", datetime(2026, 10, 25, 1, tzinfo=UTC)),
    ("Australia/Lord_Howe", datetime(2026, 4, 4, 15, tzinfo=UTC)),
    ("Australia/Lord_Howe", datetime(2026, 10, 3, 15, 30, tzinfo=UTC)),
    ("Pacific/Chatham", datetime(2026, 4, 4, 14, tzinfo=UTC)),
    ("Pacific/Chatham", datetime(2026, 9, 26, 14, tzinfo=UTC)),
    ("America/St_Johns", datetime(2026, 3, 8, 5, 30, tzinfo=UTC)),
    ("America/St_Johns", datetime(2026, 11, 1, 4, 30, tzinfo=UTC)),
    # Zones without any change, for contrast.
    ("Asia/Kolkata", datetime(2026, 6, 1, 12, tzinfo=UTC)),
    ("UTC", datetime(2026, 6, 1, 12, tzinfo=UTC)),
]
MINUTE = timedelta(minutes=1)
LAST_MINUTE = 23 * 60 + 59


def minutes(low: int, high: int) -> st.SearchStrategy[timedelta]:
    return st.integers(low, high).map(lambda m: timedelta(minutes=m))


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[SlotRules, datetime]:
    """Rules and a ``now`` whose look-ahead contains one of the clock changes above.

    Half the windows are drawn around the change's local time, so that gaps and repeated
    hours fall inside windows, on window edges and under slots.
    """
    zone_name, change = draw(st.sampled_from(CHANGES))
    zone = ZoneInfo(zone_name)
    local_change = change.astimezone(zone)
    at = local_change.hour * 60 + local_change.minute
    around = st.integers(max(0, at - 180), min(LAST_MINUTE - 1, at + 60))
    start = draw(st.one_of(st.integers(0, LAST_MINUTE - 1), around))
    end = draw(
        st.one_of(
            st.integers(start + 1, LAST_MINUTE),
            st.integers(start + 1, min(LAST_MINUTE, start + 300)),
        )
    )
    days = draw(st.sets(st.integers(0, 6), min_size=1))
    if draw(st.booleans()):
        days |= {local_change.weekday()}
    look_ahead = timedelta(days=draw(st.integers(1, 3)))
    rules = SlotRules(
        zone=zone,
        days=frozenset(days),
        window_start=time(start // 60, start % 60),
        window_end=time(end // 60, end % 60),
        length=draw(minutes(5, 240)),
        step=draw(minutes(5, 120)),
        buffer_before=draw(minutes(0, 60)),
        buffer_after=draw(minutes(0, 60)),
        minimum_notice=draw(st.one_of(st.just(timedelta(0)), minutes(0, 600))),
        look_ahead=look_ahead,
    )
    before = draw(st.integers(0, int(look_ahead.total_seconds()) - 1))
    return rules, change - timedelta(seconds=before)


@st.composite
def busy_lists(draw: st.DrawFn, rules: SlotRules, now: datetime) -> list[Interval]:
    """Unsorted busy intervals around the look-ahead, in UTC or the owner's zone.

    Some are placed to touch a candidate's blocked range end to end, the half-open edge.
    """
    candidates = candidate_starts(rules, now)
    out = []
    for _ in range(draw(st.integers(0, 25))):
        length = timedelta(minutes=draw(st.integers(1, 300)))
        edge = draw(st.sampled_from(["free", "ends at", "starts at"] if candidates else ["free"]))
        if edge == "free":
            start = now + timedelta(minutes=draw(st.integers(-24 * 60, 4 * 24 * 60)))
        else:
            blocked = rules.blocked(draw(st.sampled_from(candidates)))
            start = blocked.start - length if edge == "ends at" else blocked.end
        start, end = start.astimezone(rules.zone), (start + length).astimezone(rules.zone)
        if draw(st.booleans()) or not start < end:
            # UTC, and always when the repeated hour makes the owner-zone ends compare
            # backwards: Python compares one zone's datetimes by wall clock, ignoring fold,
            # so Interval refuses them.
            start, end = start.astimezone(UTC), end.astimezone(UTC)
        out.append(Interval(start, end))
    return out


def test_the_listed_instants_are_real_clock_changes() -> None:
    for zone_name, change in CHANGES[:-2]:
        zone = ZoneInfo(zone_name)
        assert (change - MINUTE).astimezone(zone).utcoffset() != change.astimezone(zone).utcoffset()


def naive_free_slots(rules: SlotRules, busy: list[Interval], now: datetime) -> list[Interval]:
    """The O(candidates x busy) reference: check every candidate against every busy interval."""
    return [
        rules.slot(start)
        for start in candidate_starts(rules, now)
        if not any(rules.blocked(start).overlaps(interval) for interval in busy)
    ]


def scanned_window_end(rules: SlotRules, start: datetime) -> datetime:
    """The first UTC minute from ``start`` whose wall clock reads at or past the window's end.

    That is when the window of ``start``'s day closes in real time: on a repeated hour the
    first time the clock reads the end, in a skipped hour the moment the clocks jump past it.
    """
    day = start.astimezone(rules.zone).date()
    moment = start
    while True:
        reading = moment.astimezone(rules.zone)
        if reading.date() != day or reading.time() >= rules.window_end:
            return moment
        moment += MINUTE


def scanned_candidate_starts(rules: SlotRules, now: datetime) -> list[datetime]:
    """Candidate starts found by reading the owner's wall clock at every UTC minute.

    Independent of the engine's date arithmetic: a minute is a start when it is the first
    occurrence of a wall time on a listed day, on the step grid from the window's start, and
    the slot ends by the time that day's window closes.
    """
    earliest, until = now + rules.minimum_notice, now + rules.look_ahead
    moment = earliest.astimezone(UTC).replace(second=0, microsecond=0)
    if moment < earliest:
        moment += MINUTE
    step = rules.step // MINUTE
    first = rules.window_start.hour * 60 + rules.window_start.minute
    window_ends: dict[date, datetime] = {}  # scanned from each day's first aligned start
    found = []
    while moment < until:
        reading = moment.astimezone(rules.zone)
        wall = reading.hour * 60 + reading.minute
        if (
            reading.fold == 0
            and reading.weekday() in rules.days
            and wall >= first
            and (wall - first) % step == 0
        ):
            day = reading.date()
            if day not in window_ends:
                window_ends[day] = scanned_window_end(rules, moment)
            if moment + rules.length <= window_ends[day]:
                found.append(moment)
        moment += MINUTE
    return found


@settings(max_examples=100, deadline=None)
@given(scenario=scenarios())
def test_candidate_starts_match_a_minute_by_minute_reading_of_the_wall_clock(
    scenario: tuple[SlotRules, datetime],
) -> None:
    rules, now = scenario
    assert candidate_starts(rules, now) == scanned_candidate_starts(rules, now)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), scenario=scenarios())
def test_free_slots_are_exactly_the_candidates_whose_blocked_range_is_free(
    data: st.DataObject, scenario: tuple[SlotRules, datetime]
) -> None:
    rules, now = scenario
    busy = data.draw(busy_lists(rules, now))
    slots = free_slots(rules, busy, now)
    # Nothing offered overlaps busy time, buffers included ...
    for slot in slots:
        assert not any(rules.blocked(slot.start).overlaps(b) for b in busy)
        assert slot.start.tzinfo is UTC and slot.end - slot.start == rules.length
    # ... and every free aligned candidate is offered, in order.
    assert slots == naive_free_slots(rules, busy, now)


@settings(max_examples=100, deadline=None)
@given(data=st.data(), scenario=scenarios(), limit=st.integers(0, 20))
def test_limit_returns_the_earliest_free_slots(
    data: st.DataObject, scenario: tuple[SlotRules, datetime], limit: int
) -> None:
    rules, now = scenario
    busy = data.draw(busy_lists(rules, now))
    assert free_slots(rules, busy, now, limit=limit) == free_slots(rules, busy, now)[:limit]


@settings(max_examples=100, deadline=None)
@given(data=st.data(), scenario=scenarios())
def test_a_start_is_offerable_exactly_when_free_slots_offers_it(
    data: st.DataObject, scenario: tuple[SlotRules, datetime]
) -> None:
    rules, now = scenario
    busy = data.draw(busy_lists(rules, now))
    offered = {slot.start for slot in free_slots(rules, busy, now)}
    probes = candidate_starts(rules, now) + [
        now + timedelta(minutes=data.draw(st.integers(0, 4 * 24 * 60))) for _ in range(5)
    ]
    for start in probes:
        assert is_offerable(rules, start.astimezone(rules.zone), busy, now) == (start in offered)
