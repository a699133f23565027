"""A half-open span of time, ``[start, end)``, with timezone-aware ends."""

from __future__ import annotations

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
