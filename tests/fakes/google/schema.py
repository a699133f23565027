"""Request bodies the Calendar API accepts, as pydantic models (unknown fields are refused,
as Google refuses them: ``Invalid JSON payload received. Unknown name ...``)."""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class EventDateTime(_Body):
    date: dt.date | None = None
    date_time: datetime | None = Field(None, alias="dateTime")
    time_zone: str | None = Field(None, alias="timeZone")

    @model_validator(mode="after")
    def _one_of(self) -> EventDateTime:
        if (self.date is None) == (self.date_time is None):
            raise ValueError("exactly one of date and dateTime")
        return self


class Attendee(_Body):
    email: str = Field(min_length=3)
    display_name: str | None = Field(None, alias="displayName")
    optional: bool | None = None
    response_status: Literal["needsAction", "declined", "tentative", "accepted"] | None = \
        Field(None, alias="responseStatus")
    comment: str | None = None
    additional_guests: int | None = Field(None, alias="additionalGuests")


class ConferenceSolutionKey(_Body):
    type: Literal["eventHangout", "eventNamedHangout", "hangoutsMeet", "addOn"]


class CreateConferenceRequest(_Body):
    request_id: str = Field(alias="requestId", min_length=1)
    conference_solution_key: ConferenceSolutionKey | None = Field(
        None, alias="conferenceSolutionKey")


class EntryPoint(_Body):
    entry_point_type: Literal["video", "phone", "sip", "more"] = Field(alias="entryPointType")
    uri: str
    label: str | None = None


class ConferenceData(_Body):
    create_request: CreateConferenceRequest | None = Field(None, alias="createRequest")
    entry_points: list[EntryPoint] | None = Field(None, alias="entryPoints")
    conference_id: str | None = Field(None, alias="conferenceId")
    notes: str | None = None


class ReminderOverride(_Body):
    method: Literal["email", "popup"]
    minutes: int = Field(ge=0, le=40320)


class Reminders(_Body):
    use_default: bool = Field(alias="useDefault")
    overrides: list[ReminderOverride] | None = None


class _EventFields(_Body):
    id: str | None = None
    summary: str | None = None
    description: str | None = None
    location: str | None = None
    attendees: list[Attendee] | None = None
    conference_data: ConferenceData | None = Field(None, alias="conferenceData")
    transparency: Literal["opaque", "transparent"] | None = None
    visibility: Literal["default", "public", "private", "confidential"] | None = None
    status: Literal["confirmed", "tentative", "cancelled"] | None = None
    guests_can_modify: bool | None = Field(None, alias="guestsCanModify")
    guests_can_invite_others: bool | None = Field(None, alias="guestsCanInviteOthers")
    guests_can_see_other_guests: bool | None = Field(None, alias="guestsCanSeeOtherGuests")
    reminders: Reminders | None = None
    color_id: str | None = Field(None, alias="colorId")
    recurrence: list[str] | None = None
    event_type: Literal["default"] | None = Field(None, alias="eventType")


class EventInsert(_EventFields):
    """``events.insert``: start and end are required."""

    start: EventDateTime
    end: EventDateTime


class EventPatch(_EventFields):
    """``events.patch``: any subset of the fields."""

    start: EventDateTime | None = None
    end: EventDateTime | None = None


class FreeBusyItem(_Body):
    id: str


class FreeBusyRequest(_Body):
    time_min: datetime = Field(alias="timeMin")
    time_max: datetime = Field(alias="timeMax")
    time_zone: str | None = Field(None, alias="timeZone")
    group_expansion_max: int | None = Field(None, alias="groupExpansionMax", le=100)
    calendar_expansion_max: int | None = Field(None, alias="calendarExpansionMax", le=50)
    items: list[FreeBusyItem]


M = TypeVar("M", bound=BaseModel)


class BodyInvalid(Exception):
    """The body is not what the method accepts; ``reason`` and ``message`` as Google says."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason, self.message = reason, message


def parse(model: type[M], body: Any) -> M:
    """``body`` as ``model``, or :class:`BodyInvalid` worded the way Google words it."""
    if not isinstance(body, dict):
        raise BodyInvalid("parseError", "Parse Error")
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        if first["type"] == "extra_forbidden":
            raise BodyInvalid("invalid", f'Invalid JSON payload received. Unknown name '
                              f'"{first["loc"][-1]}" at \'resource\': Cannot find field.') \
                from None
        if first["type"] == "missing":
            raise BodyInvalid("required", "Required") from None
        raise BodyInvalid("invalid", f"Invalid value for: {where}") from None
