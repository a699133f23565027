"""The slot engine: which meeting starts the agent may offer, given the rules and busy time.

Pure: no I/O, no clock. Everything comes in as arguments and goes out as UTC-aware values.

Wall-clock rules (daylight-saving time). Candidate starts are laid every ``step`` from the
window's start as *wall-clock* times in the availability zone, so 09:00 stays 09:00 local on
both sides of a transition. Around a transition:

* a wall time that does not exist (skipped by a spring-forward gap) is not offered;
* a wall time that exists twice (repeated by a fall-back) means its first occurrence
  (``fold=0``, the earlier instant, still on summer time); the repeat is not offered;
* the window's end is an instant: ``end`` on that date resolved the same way (first
  occurrence if repeated; if it falls in a gap, the instant the clocks jump). A slot must
  end by that instant, measured in real elapsed time, so a 60-minute meeting is 60 minutes
  even when it spans a transition. The window is thus the real span from its first start
  to that instant; on a fall-back day it includes the repeated hour if the hour lies inside.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from operator import itemgetter
from zoneinfo import ZoneInfo

from calendar_backend.booking_settings import WEEKDAYS, BookingSettings
from calendar_backend.interval import Interval

_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class SlotRules:
    """A campaign's slot rules, resolved to zone objects and durations."""

    zone: ZoneInfo  # availability zone (the calendar owner's)
    days: frozenset[int]  # weekday numbers, Monday=0
    window_start: time
    window_end: time
    length: timedelta
    step: timedelta
    buffer_before: timedelta
    buffer_after: timedelta
    minimum_notice: timedelta
    look_ahead: timedelta

    def __post_init__(self) -> None:
        if not self.days or not self.days <= frozenset(range(7)):
            raise ValueError(f"days must be weekday numbers 0-6, got {sorted(self.days)}")
        if self.window_start.tzinfo or self.window_end.tzinfo:
            raise ValueError("window times are wall-clock times: give them without a zone")
        if self.window_end <= self.window_start:
            raise ValueError("the window must end after it starts, within one day")
        if self.length <= timedelta(0) or self.step <= timedelta(0):
            raise ValueError("meeting length and step must be positive")
        if min(self.buffer_before, self.buffer_after, self.minimum_notice) < timedelta(0):
            raise ValueError("buffers and minimum notice cannot be negative")

    @classmethod
    def from_settings(cls, booking: BookingSettings, calendar_zone: str | None = None) -> SlotRules:
        """Rules from a campaign's booking settings.

        The zone is the availability window's own zone, else the calendar's, else a
        ValueError: guessing a zone would offer times an hour or more off.
        """
        availability = booking.availability
        zone_name = availability.timezone or calendar_zone
        if not zone_name:
            raise ValueError(
                "no time zone for the availability window: set booking.availability.timezone"
                " or connect a calendar that reports its zone"
            )
        return cls(
            zone=ZoneInfo(zone_name),
            days=frozenset(WEEKDAYS.index(day) for day in availability.days),
            window_start=availability.start,
            window_end=availability.end,
            length=timedelta(minutes=booking.meeting_length_minutes),
            step=timedelta(minutes=booking.step_minutes),
            buffer_before=timedelta(minutes=booking.buffer_before_minutes),
            buffer_after=timedelta(minutes=booking.buffer_after_minutes),
            minimum_notice=timedelta(minutes=booking.minimum_notice_minutes),
            look_ahead=timedelta(days=booking.look_ahead_days),
        )

    def blocked(self, start: datetime) -> Interval:
        """The time a meeting starting at ``start`` keeps busy: the slot plus its buffers."""
        return Interval(start - self.buffer_before, start + self.length + self.buffer_after)

    def slot(self, start: datetime) -> Interval:
        """The meeting itself: ``[start, start + length)``."""
        return Interval(start, start + self.length)


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")


def _resolve(wall: datetime, zone: ZoneInfo) -> tuple[datetime, bool]:
    """``(instant in UTC, whether the wall time exists)`` for a naive local wall time.

    Repeated wall times resolve to their first occurrence (``fold=0``). A skipped one
    resolves to the instant the clocks jump over it.
    """
    local = wall.replace(tzinfo=zone, fold=0)
    instant = local.astimezone(UTC)
    if local.utcoffset() == local.replace(fold=1).utcoffset():
        return instant, True  # the ordinary case: one offset, no transition here
    if instant.astimezone(zone).replace(tzinfo=None) == wall:
        return instant, True  # repeated wall time: fold=0 is the first occurrence
    # Skipped wall time: the jump lies between the two readings; find it to the second.
    low = int(wall.replace(tzinfo=zone, fold=1).timestamp())
    high = int(instant.timestamp())
    if low > high:
        low, high = high, low
    while low < high:
        middle = (low + high) // 2
        reading = datetime.fromtimestamp(middle, zone).replace(tzinfo=None)
        if reading >= wall:
            high = middle
        else:
            low = middle + 1
    return datetime.fromtimestamp(low, UTC), False


# Every booking re-checks its start, and every caller who loses a race looks for the next
# free slots, on the same few days: each day's starts are worked out once.
@lru_cache(maxsize=1024)
def _day_starts(rules: SlotRules, day: date) -> tuple[datetime, ...]:
    """Aligned starts on one local date whose slot fits the window, in UTC, ascending."""
    if day.weekday() not in rules.days:
        return ()
    wall = datetime.combine(day, rules.window_start)
    wall_end = datetime.combine(day, rules.window_end)
    first, first_exists = _resolve(wall, rules.zone)
    window_end, _ = _resolve(wall_end, rules.zone)
    latest_start = window_end - rules.length
    if first_exists and window_end - first == wall_end - wall:
        # Real and wall-clock lengths agree, so the clocks do not change inside this window
        # (no zone changes them twice and back within a day): wall-clock steps are
        # real-time steps, and resolving each start one by one can be skipped.
        if latest_start < first:
            return ()
        count = (latest_start - first) // rules.step + 1
        return tuple(first + k * rules.step for k in range(count))
    starts = []
    while wall < wall_end:
        start, exists = _resolve(wall, rules.zone)
        if start > latest_start:
            break  # later wall times resolve to later instants: none can fit
        if exists:
            starts.append(start)
        wall += rules.step
    return tuple(starts)


def _bounds(rules: SlotRules, now: datetime) -> tuple[datetime, datetime]:
    _require_aware(now, "now")
    now = now.astimezone(UTC)
    return now + rules.minimum_notice, now + rules.look_ahead


def _starts_between(rules: SlotRules, earliest: datetime, until: datetime) -> Iterator[datetime]:
    """Aligned starts ``s`` with ``earliest <= s < until``, ascending."""
    day = earliest.astimezone(rules.zone).date()
    last_day = until.astimezone(rules.zone).date()
    while day <= last_day:
        for start in _day_starts(rules, day):
            if start >= until:
                return
            if start >= earliest:
                yield start
        day += _ONE_DAY


def candidate_starts(rules: SlotRules, now: datetime) -> list[datetime]:
    """Every aligned start satisfying window, notice and look-ahead, ignoring busy time.

    UTC-aware, sorted. ``now`` must be timezone-aware.
    """
    return list(_starts_between(rules, *_bounds(rules, now)))


class _BusyIndex:
    """Busy intervals sorted by start, in UTC, with a running maximum of ends.

    A range ``[a, b)`` is free iff every interval starting before ``b`` ends by ``a``, i.e.
    the largest end among them is ``<= a``: one bisect per query.
    """

    def __init__(self, busy: Iterable[Interval]) -> None:
        # UTC first: Python orders two datetimes of one zone by wall clock, ignoring fold,
        # which misorders busy time given in the owner's zone during a repeated hour.
        # (Inline ``is UTC`` tests: converting what already is UTC costs a third of the index.)
        spans = [
            (
                start if (start := i.start).tzinfo is UTC else start.astimezone(UTC),
                end if (end := i.end).tzinfo is UTC else end.astimezone(UTC),
            )
            for i in busy
        ]
        spans.sort(key=itemgetter(0))
        self._starts = list(map(itemgetter(0), spans))
        self._max_ends: list[datetime] = []
        # A plain loop: three times faster here than accumulate(..., max).
        latest = datetime.min.replace(tzinfo=UTC)
        for _, end in spans:
            if end > latest:
                latest = end
            self._max_ends.append(latest)

    def is_free(self, start: datetime, end: datetime) -> bool:
        """Whether ``[start, end)`` overlaps no busy interval."""
        count = bisect_left(self._starts, end)
        return count == 0 or self._max_ends[count - 1] <= start


def free_slots(
    rules: SlotRules, busy: Iterable[Interval], now: datetime, *, limit: int | None = None
) -> list[Interval]:
    """The slots the agent may offer, ``[s, s + length)`` as UTC-aware Intervals, sorted.

    ``busy`` is the calendar's busy time plus this project's own bookings' blocked ranges
    (already expanded by their buffers), in any order. A start is offered when it is aligned,
    its slot fits the day's window, ``now + minimum_notice <= s < now + look_ahead``, and its
    blocked range (the slot plus buffers, which may reach outside the window) overlaps no busy
    interval. ``limit`` keeps only the earliest that many.
    """
    if limit is not None and limit < 0:
        raise ValueError("limit cannot be negative")
    earliest, until = _bounds(rules, now)
    if limit == 0:
        return []
    index = _BusyIndex(busy)
    before, after = rules.buffer_before, rules.length + rules.buffer_after
    slots: list[Interval] = []
    for start in _starts_between(rules, earliest, until):
        if index.is_free(start - before, start + after):
            slots.append(rules.slot(start))
            if len(slots) == limit:
                break
    return slots


def is_offerable(
    rules: SlotRules, start: datetime, busy: Iterable[Interval], now: datetime
) -> bool:
    """Whether ``start`` is aligned, inside the rules and free right now.

    Used to re-check the slot a caller picked before booking it.
    """
    _require_aware(start, "start")
    earliest, until = _bounds(rules, now)
    start = start.astimezone(UTC)
    if not earliest <= start < until:
        return False
    if start not in _day_starts(rules, start.astimezone(rules.zone).date()):
        return False
    blocked = rules.blocked(start)
    return not any(blocked.overlaps(interval) for interval in busy)
