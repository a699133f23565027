"""A half-open span of time, ``[start, end)``, with timezone-aware ends, and arithmetic on spans."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True, slots=True, order=True)
class Interval:
    """``[start, end)`` between two timezone-aware datetimes, held in UTC.

    Ends are normalised to UTC because Python compares two datetimes of the same
    zone by wall clock, ignoring ``fold``: in a repeated DST hour that gets order wrong.
    """

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("interval ends must be timezone-aware")
        object.__setattr__(self, "start", self.start.astimezone(UTC))
        object.__setattr__(self, "end", self.end.astimezone(UTC))
        if self.end <= self.start:
            raise ValueError(f"interval ends before it starts: {self.start} .. {self.end}")

    def overlaps(self, other: Interval) -> bool:
        """Whether the two half-open intervals share any instant."""
        return self.start < other.end and other.start < self.end


def subtract(whole: Interval, part: Interval) -> list[Interval]:
    """The pieces of ``whole`` not covered by ``part`` (zero, one or two)."""
    pieces = []
    if whole.start < part.start:
        pieces.append(Interval(whole.start, min(whole.end, part.start)))
    if part.end < whole.end:
        pieces.append(Interval(max(whole.start, part.end), whole.end))
    return pieces


def without(intervals: Iterable[Interval], part: Interval | None) -> list[Interval]:
    """``intervals`` with ``part`` cut out of each (all of them when ``part`` is ``None``)."""
    if part is None:
        return list(intervals)
    return [
        piece
        for interval in intervals
        for piece in (subtract(interval, part) if interval.overlaps(part) else [interval])
    ]
