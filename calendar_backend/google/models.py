"""Calendar API v3 payloads this package reads and writes, as pydantic models.

Bodies we send forbid extra fields and serialise with Google's property names, so a typo
fails here rather than at Google; payloads we read ignore what we do not use.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def google(self) -> dict[str, object]:
        """The JSON body Google expects."""
        return self.model_dump(by_alias=True, exclude_none=True)


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


def rfc3339(instant: datetime) -> str:
    """``instant`` in UTC as RFC 3339 (``2030-03-04T18:00:00Z``); naive times are refused."""
    if instant.tzinfo is None:
        raise ValueError("naive datetime refused")
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class EventDateTime(_Out):
    """A start or end: an RFC 3339 instant (we always send UTC)."""

    date_time: str = Field(alias="dateTime")
    time_zone: str = Field("UTC", alias="timeZone")

    @classmethod
    def utc(cls, instant: datetime) -> EventDateTime:
        """``instant`` as a UTC ``dateTime``."""
        return cls(date_time=rfc3339(instant))


class AttendeeOut(_Out):
    email: str
    display_name: str | None = Field(None, alias="displayName")


class ConferenceSolutionKey(_Out):
    type: Literal["hangoutsMeet"] = "hangoutsMeet"


class CreateConferenceRequest(_Out):
    # Derived from the booking: a retried insert asks for the same conference, not a second.
    request_id: str = Field(alias="requestId")
    conference_solution_key: ConferenceSolutionKey = Field(
        default_factory=ConferenceSolutionKey, alias="conferenceSolutionKey")


class ConferenceDataOut(_Out):
    create_request: CreateConferenceRequest = Field(alias="createRequest")


class EventInsert(_Out):
    """``POST /calendars/{calendarId}/events`` (with ``sendUpdates``, ``conferenceDataVersion``)."""

    id: str
    summary: str
    description: str
    start: EventDateTime
    end: EventDateTime
    attendees: list[AttendeeOut]
    location: str | None = None
    conference_data: ConferenceDataOut | None = Field(None, alias="conferenceData")
    transparency: Literal["opaque"] = "opaque"
    # The caller may not move or re-invite on the owner's calendar.
    guests_can_modify: bool = Field(False, alias="guestsCanModify")


class EventMove(_Out):
    """``PATCH /calendars/{calendarId}/events/{eventId}`` moving an event."""

    start: EventDateTime
    end: EventDateTime


class EventNote(_Out):
    """``PATCH`` setting the description (the note a cancellation carries)."""

    description: str


class FreeBusyItem(_Out):
    id: str


class FreeBusyQuery(_Out):
    """``POST /freeBusy`` for one calendar, answered in UTC."""

    time_min: str = Field(alias="timeMin")
    time_max: str = Field(alias="timeMax")
    time_zone: str = Field("UTC", alias="timeZone")
    items: list[FreeBusyItem]


class TimePeriod(_In):
    start: datetime
    end: datetime


class ApiErrorItem(_In):
    domain: str | None = None
    reason: str | None = None


class FreeBusyCalendar(_In):
    busy: list[TimePeriod] = Field(default_factory=list)
    errors: list[ApiErrorItem] = Field(default_factory=list)


class FreeBusyResponse(_In):
    calendars: dict[str, FreeBusyCalendar] = Field(default_factory=dict)


class EntryPoint(_In):
    entry_point_type: str = Field(alias="entryPointType")
    uri: str


class ConferenceStatus(_In):
    status_code: str = Field(alias="statusCode")


class ConferenceRequestIn(_In):
    status: ConferenceStatus | None = None


class ConferenceDataIn(_In):
    entry_points: list[EntryPoint] = Field(default_factory=list, alias="entryPoints")
    create_request: ConferenceRequestIn | None = Field(None, alias="createRequest")


class ListedTime(_In):
    """A listed event's start or end: a ``dateTime`` or, for an all-day event, a ``date``."""

    date_time: datetime | None = Field(None, alias="dateTime")
    date: str | None = None


class ListedEvent(_In):
    """An item of events.list (``singleEvents=true``: recurring series come expanded)."""

    id: str
    status: str = "confirmed"
    summary: str = ""
    start: ListedTime
    end: ListedTime
    transparency: str = "opaque"


class EventList(_In):
    """A page of events.list."""

    items: list[ListedEvent] = Field(default_factory=list)


class ApiEvent(_In):
    """An event as insert / get / patch return it."""

    id: str
    status: str = "confirmed"
    hangout_link: str | None = Field(None, alias="hangoutLink")
    conference_data: ConferenceDataIn | None = Field(None, alias="conferenceData")

    @property
    def meet_url(self) -> str | None:
        """The video link Google put on the event (its video entry point), if any yet."""
        if self.conference_data is not None:
            for entry in self.conference_data.entry_points:
                if entry.entry_point_type == "video":
                    return entry.uri
        return self.hangout_link

    @property
    def conference_pending(self) -> bool:
        """Whether Google is still creating the requested conference."""
        request = self.conference_data.create_request if self.conference_data else None
        return request is not None and request.status is not None \
            and request.status.status_code == "pending"


class ConferenceProperties(_In):
    allowed: list[str] = Field(default_factory=list, alias="allowedConferenceSolutionTypes")


class CalendarListEntry(_In):
    """An item of ``GET /users/me/calendarList``."""

    id: str
    summary: str = ""
    summary_override: str | None = Field(None, alias="summaryOverride")
    primary: bool = False
    access_role: str = Field("reader", alias="accessRole")
    time_zone: str | None = Field(None, alias="timeZone")
    conference_properties: ConferenceProperties | None = Field(None,
                                                               alias="conferenceProperties")

    @property
    def name(self) -> str:
        """The name the owner sees for the calendar."""
        return self.summary_override or self.summary or self.id

    @property
    def can_edit(self) -> bool:
        """Whether events can be added here."""
        return self.access_role in ("owner", "writer")

    @property
    def meet_allowed(self) -> bool:
        """Whether events here can carry a Google Meet conference."""
        props = self.conference_properties
        return props is not None and "hangoutsMeet" in props.allowed


class CalendarList(_In):
    items: list[CalendarListEntry] = Field(default_factory=list)
    next_page_token: str | None = Field(None, alias="nextPageToken")


class SyncAttendee(_In):
    """An attendee of a synced event."""

    email: str = ""
    response_status: str = Field("needsAction", alias="responseStatus")
    is_self: bool = Field(False, alias="self")  # the calendar's owner


class SyncedItem(_In):
    """An item of events.list in a sync round: a cancelled (deleted) one may carry its id
    and status alone."""

    id: str
    status: str = "confirmed"
    summary: str = ""
    start: ListedTime | None = None
    end: ListedTime | None = None
    transparency: str = "opaque"
    location: str | None = None
    description: str | None = None
    hangout_link: str | None = Field(None, alias="hangoutLink")
    conference_data: ConferenceDataIn | None = Field(None, alias="conferenceData")
    attendees: list[SyncAttendee] = Field(default_factory=list)

    @property
    def meet_url(self) -> str | None:
        """The conference's video entry point (or ``hangoutLink``), if any."""
        if self.conference_data is not None:
            for entry in self.conference_data.entry_points:
                if entry.entry_point_type == "video":
                    return entry.uri
        return self.hangout_link


class SyncPage(_In):
    """A page of events.list in a sync round."""

    items: list[SyncedItem] = Field(default_factory=list)
    next_page_token: str | None = Field(None, alias="nextPageToken")
    next_sync_token: str | None = Field(None, alias="nextSyncToken")


class ChannelOut(_Out):
    """The body of events.watch: a web_hook channel with its secret token."""

    id: str
    type: Literal["web_hook"] = "web_hook"
    address: str
    token: str
    expiration: str | None = None  # ms since the epoch, as text


class ChannelIn(_In):
    """What events.watch answers."""

    id: str
    resource_id: str = Field(alias="resourceId")
    expiration: str | None = None

    def expires(self) -> datetime | None:
        """When Google will stop notifying (``None`` when it did not say)."""
        if not self.expiration:
            return None
        return datetime.fromtimestamp(int(self.expiration) / 1000, UTC)


class ChannelStop(_Out):
    """The body of channels.stop."""

    id: str
    resource_id: str = Field(alias="resourceId")
