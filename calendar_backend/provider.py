"""The calendar port: what booking needs from any calendar (local, Outlook, Google)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from calendar_backend.interval import Interval


class CalendarUnavailable(Exception):
    """The calendar could not be reached or refused us (outage, throttling past the budget).

    ``reason`` is safe to log; nothing was written when this is raised from a create.
    """

    def __init__(self, reason: str, *, needs_reconnect: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.needs_reconnect = needs_reconnect


class EventNotFound(Exception):
    """The event to move or cancel is no longer on the calendar."""


class Attendee(BaseModel):
    """Someone invited to the event (the caller)."""

    model_config = ConfigDict(extra="forbid")

    email: str
    name: str | None = None


class NewEvent(BaseModel):
    """An event to create. ``idempotency_key`` makes a retried create return the same event."""

    model_config = ConfigDict(extra="forbid")

    idempotency_key: str = Field(min_length=1)
    subject: str
    body: str
    start: datetime
    end: datetime
    attendees: list[Attendee]
    location: str | None = None
    online_meeting: bool = False


class CreatedEvent(BaseModel):
    """What the calendar answered for a created or moved event."""

    event_id: str
    online_meeting_url: str | None = None


class BusyTime(BaseModel):
    """One busy span on the calendar, and how it is shown (busy, tentative, oof, ...)."""

    start: datetime
    end: datetime
    show_as: Literal["busy", "tentative", "oof", "unknown"] = "busy"

    def interval(self) -> Interval:
        """This busy span as an :class:`Interval`."""
        return Interval(self.start, self.end)


# Busy time from a synced copy for a range, or None when the copy will not do.
SyncedBusy = Callable[[datetime, datetime], Awaitable[list[BusyTime] | None]]


class UpcomingEvent(BaseModel):
    """An event on the calendar, as an operator's listing shows it (not part of the port:
    booking never reads event contents)."""

    id: str
    subject: str
    start: datetime
    end: datetime
    all_day: bool = False
    show_as: str = "busy"  # busy, free, tentative, oof, ...


@runtime_checkable
class CalendarProvider(Protocol):
    """A calendar the agent can read availability from and book on.

    Times in and out are timezone-aware; adapters store and send UTC.
    """

    async def busy_times(self, start: datetime, end: datetime) -> list[BusyTime]:
        """Blocking time (busy, tentative, out of office) overlapping ``[start, end)``."""
        ...

    async def create_event(self, event: NewEvent) -> CreatedEvent:
        """Create the event; the same ``idempotency_key`` never makes a second event."""
        ...

    async def find_event(
        self, idempotency_key: str, start: datetime, end: datetime
    ) -> CreatedEvent | None:
        """The live event a create with ``idempotency_key`` made for ``[start, end)``, or
        ``None`` if there is none (a claim abandoned before, or without, its write)."""
        ...

    async def move_event(self, event_id: str, start: datetime, end: datetime) -> CreatedEvent:
        """Move an event this project created to a new time."""
        ...

    async def cancel_event(self, event_id: str, message: str) -> None:
        """Cancel an event, sending ``message`` to its attendees."""
        ...

    async def time_zone(self) -> str | None:
        """The calendar owner's IANA zone, or ``None`` when the calendar does not say."""
        ...

    async def can_add_online_meeting(self) -> bool:
        """Whether created events can carry an online-meeting (Teams) link."""
        ...
