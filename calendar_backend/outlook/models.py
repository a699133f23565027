"""Graph payloads this package reads and writes, as pydantic models.

Bodies we send forbid extra fields and serialise with Graph's property names, so a typo
fails here rather than at Graph; payloads we read ignore what we do not use.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from calendar_backend.outlook.windows_zones import iana_zone


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def graph(self) -> dict[str, object]:
        """The JSON body Graph expects."""
        return self.model_dump(by_alias=True, exclude_none=True)


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class DateTimeTimeZone(_Out):
    """A wall-clock time and the zone it is in (we always send UTC)."""

    date_time: str = Field(alias="dateTime")
    time_zone: str = Field(alias="timeZone")

    @classmethod
    def utc(cls, instant: datetime) -> DateTimeTimeZone:
        """``instant`` as a UTC wall-clock time."""
        if instant.tzinfo is None:
            raise ValueError("naive datetime refused")
        return cls(date_time=instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                   time_zone="UTC")


class EmailAddress(_Out):
    address: str
    name: str | None = None


class AttendeeOut(_Out):
    email_address: EmailAddress = Field(alias="emailAddress")
    type: Literal["required", "optional", "resource"] = "required"


class ItemBody(_Out):
    content_type: Literal["text", "html"] = Field("text", alias="contentType")
    content: str


class LocationOut(_Out):
    display_name: str = Field(alias="displayName")


class EventCreate(_Out):
    """``POST /me/calendars/{id}/events``."""

    subject: str
    body: ItemBody
    start: DateTimeTimeZone
    end: DateTimeTimeZone
    attendees: list[AttendeeOut]
    location: LocationOut | None = None
    is_online_meeting: bool | None = Field(None, alias="isOnlineMeeting")
    online_meeting_provider: Literal["teamsForBusiness"] | None = Field(
        None, alias="onlineMeetingProvider"
    )
    transaction_id: str = Field(alias="transactionId")
    show_as: Literal["busy"] = Field("busy", alias="showAs")
    response_requested: bool = Field(True, alias="responseRequested")


class EventMove(_Out):
    """``PATCH /me/events/{id}`` moving an event."""

    start: DateTimeTimeZone
    end: DateTimeTimeZone


class CancelBody(_Out):
    """``POST /me/events/{id}/cancel``."""

    comment: str = Field(alias="Comment")


class GraphTime(_In):
    date_time: str = Field(alias="dateTime")
    time_zone: str = Field(alias="timeZone")

    def instant(self) -> datetime:
        """The aware instant.

        We ask Graph for UTC, but all-day events come back in the zone they were made in.
        """
        local = datetime.fromisoformat(self.date_time)
        zone = iana_zone(self.time_zone)
        if zone is None:
            raise ValueError(f"Graph returned a time in an unknown zone {self.time_zone!r}")
        return local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


class OnlineMeeting(_In):
    join_url: str | None = Field(None, alias="joinUrl")


class GraphEvent(_In):
    """An event as calendarView / create / PATCH return it."""

    id: str
    subject: str | None = None
    start: GraphTime
    end: GraphTime
    show_as: str = Field("busy", alias="showAs")
    is_cancelled: bool = Field(False, alias="isCancelled")
    is_all_day: bool = Field(False, alias="isAllDay")
    transaction_id: str | None = Field(None, alias="transactionId")
    online_meeting: OnlineMeeting | None = Field(None, alias="onlineMeeting")


class GraphCalendar(_In):
    """An item of ``GET /me/calendars``."""

    id: str
    name: str
    is_default: bool = Field(False, alias="isDefaultCalendar")
    can_edit: bool = Field(False, alias="canEdit")
    allowed_online_meeting_providers: list[str] = Field(
        default_factory=list, alias="allowedOnlineMeetingProviders"
    )

    @property
    def teams_allowed(self) -> bool:
        """Whether events here can carry a Teams link."""
        return "teamsForBusiness" in self.allowed_online_meeting_providers


class GraphUser(_In):
    """``GET /me``: personal accounts have no ``mail``; their address is the UPN."""

    id: str
    display_name: str | None = Field(None, alias="displayName")
    mail: str | None = None
    user_principal_name: str | None = Field(None, alias="userPrincipalName")

    @property
    def email(self) -> str | None:
        return self.mail or self.user_principal_name


class MailboxSettings(_In):
    """``GET /me/mailboxSettings``: only the zone matters here."""

    time_zone: str | None = Field(None, alias="timeZone")


class _Address(_In):
    address: str | None = None
    name: str | None = None


class _ResponseStatus(_In):
    response: str | None = None


class AttendeeIn(_In):
    """An attendee of an event as Graph returns it, with their answer."""

    email_address: _Address = Field(default_factory=_Address, alias="emailAddress")
    status: _ResponseStatus = Field(default_factory=_ResponseStatus)


class _Location(_In):
    display_name: str | None = Field(None, alias="displayName")


class _Body(_In):
    content: str | None = None


class Removed(_In):
    reason: str | None = None


class DeltaItem(_In):
    """An item of ``calendarView/delta``: an event, or ``{"id", "@removed"}`` for one that
    was deleted or left the window."""

    id: str
    removed: Removed | None = Field(None, alias="@removed")
    subject: str | None = None
    start: GraphTime | None = None
    end: GraphTime | None = None
    show_as: str = Field("busy", alias="showAs")
    is_all_day: bool = Field(False, alias="isAllDay")
    is_cancelled: bool = Field(False, alias="isCancelled")
    transaction_id: str | None = Field(None, alias="transactionId")
    change_key: str | None = Field(None, alias="changeKey")
    online_meeting: OnlineMeeting | None = Field(None, alias="onlineMeeting")
    location: _Location | None = None
    body: _Body | None = None
    attendees: list[AttendeeIn] = Field(default_factory=list)


class SubscriptionOut(_Out):
    """``POST /subscriptions`` for a calendar's events."""

    change_type: str = Field(alias="changeType")
    notification_url: str = Field(alias="notificationUrl")
    lifecycle_notification_url: str | None = Field(None, alias="lifecycleNotificationUrl")
    resource: str
    expiration_date_time: str = Field(alias="expirationDateTime")
    client_state: str = Field(alias="clientState")


class SubscriptionRenewal(_Out):
    """``PATCH /subscriptions/{id}``."""

    expiration_date_time: str = Field(alias="expirationDateTime")


class SubscriptionIn(_In):
    """A subscription as Graph returns it."""

    id: str
    expiration_date_time: str = Field(alias="expirationDateTime")

    def expires(self) -> datetime:
        """The expiry as an aware instant."""
        value = datetime.fromisoformat(self.expiration_date_time.replace("Z", "+00:00"))
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_NO_NUL = r"^[^\x00]*$"


class ChangeNotification(_In):
    """One item of a change or lifecycle notification POSTed by Graph."""

    # No NUL: no id or secret holds one, and PostgreSQL cannot even look it up.
    subscription_id: str = Field(alias="subscriptionId", max_length=255, pattern=_NO_NUL)
    client_state: str | None = Field(None, alias="clientState", max_length=1024,
                                     pattern=_NO_NUL)
    change_type: str | None = Field(None, alias="changeType")
    lifecycle_event: str | None = Field(None, alias="lifecycleEvent")


class NotificationBatch(_In):
    """The body of a notification POST: ``{"value": [...]}``."""

    value: list[ChangeNotification] = Field(max_length=1000)
