"""A campaign's booking settings (the ``booking:`` section of a campaign file) and its templates."""

from __future__ import annotations

import re
import string
from datetime import time
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_serializer,
    field_validator,
)

from storage.zones import canonical_zone

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MeetingType = Literal["video", "phone", "in_person"]

# Tokens a title or description template may use. Contact-list columns that are not
# listed here are reachable as {recipient.custom.<column>}.
RECIPIENT_TOKENS = frozenset(
    {"firstName", "lastName", "fullName", "phone", "email", "company"}
)
OTHER_TOKENS = frozenset({"campaign.name", "meeting.lengthMinutes", "meeting.type"})
_CUSTOM_TOKEN = re.compile(r"recipient\.custom\.[A-Za-z_][A-Za-z0-9_]*")
_WALL_TIME = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")
# The longest sensible horizon for notice and look-ahead: a year.
_YEAR_MINUTES = 365 * 24 * 60


class Recipient(BaseModel):
    """Who is being called: the values behind ``{recipient.*}`` template tokens."""

    model_config = ConfigDict(extra="forbid")

    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    email: str | None = None
    company: str | None = None
    custom: dict[str, str] = Field(default_factory=dict)

    def tokens(self) -> dict[str, str]:
        """This recipient's template tokens, without the ``recipient.`` prefix."""
        full = " ".join(p for p in (self.first_name, self.last_name) if p)
        values = {
            "firstName": self.first_name,
            "lastName": self.last_name,
            "fullName": full or None,
            "phone": self.phone,
            "email": self.email,
            "company": self.company,
        }
        out = {k: v for k, v in values.items() if v}
        out.update({f"custom.{k}": v for k, v in self.custom.items()})
        return out


def template_tokens(template: str) -> list[str]:
    """The ``{token}`` names a template uses, in order (raises ValueError on bad braces)."""
    return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]


def unknown_tokens(template: str) -> list[str]:
    """Tokens in ``template`` that no call can fill."""
    unknown = []
    for name in template_tokens(template):
        if name in OTHER_TOKENS or _CUSTOM_TOKEN.fullmatch(name):
            continue
        prefix, _, field = name.partition(".")
        if prefix == "recipient" and field in RECIPIENT_TOKENS:
            continue
        unknown.append(name)
    return unknown


def _valid_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        known = False
    else:
        known = name in available_timezones() or name == "UTC"
    if not known:
        raise ValueError(f"unknown time zone {name!r} (use an IANA name such as America/New_York)")
    # Stored and shown by its current name (Asia/Calcutta is Asia/Kolkata); "UTC" stays as is.
    canonical = canonical_zone(name)
    return name if canonical == "Etc/UTC" else canonical


def _wall_time(value: object) -> object:
    """A wall-clock time written ``"HH:MM"``; a naive ``time`` passes as it is.

    Only a string is read: YAML 1.1 turns an unquoted ``9:00`` into the integer 540 and
    ``1.5`` is a float, which pydantic would take as seconds after midnight in UTC.
    """
    if isinstance(value, time) and value.tzinfo is None:
        return value
    if isinstance(value, str):
        match = _WALL_TIME.fullmatch(value.strip())
        if match:
            return time(int(match[1]), int(match[2]))
        raise ValueError(f"{value!r} is not a time of day: write it \"HH:MM\", e.g. \"09:00\"")
    raise ValueError(
        f"{value!r} is not a time of day: write it in quotes as \"HH:MM\", e.g. \"09:00\""
        " (YAML reads an unquoted 9:00 as the number 540)"
    )


# The public name other settings models (a campaign's calling hours) parse times with.
wall_time = _wall_time


class Availability(BaseModel):
    """The weekly window slots may be offered in, as wall-clock times in the owner's zone."""

    model_config = ConfigDict(extra="forbid")

    timezone: str | None = None
    days: list[Weekday] = Field(default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"])
    start: time = time(9, 0)
    end: time = time(17, 0)

    @field_validator("start", "end", mode="before")
    @classmethod
    def _wall(cls, value: object) -> object:
        return _wall_time(value)

    @field_serializer("start", "end", when_used="json")
    def _hh_mm(self, value: time) -> str:
        # Written as it is read, so a stored campaign loads again (the API, file export).
        return value.strftime("%H:%M")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else _valid_zone(value)

    @field_validator("days")
    @classmethod
    def _days(cls, value: list[Weekday]) -> list[Weekday]:
        if not value:
            raise ValueError("at least one day is needed")
        if len(set(value)) != len(value):
            raise ValueError("a day is listed twice")
        return value

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, value: time, info: ValidationInfo) -> time:
        start = info.data.get("start")
        if start is not None and value <= start:
            # A window crossing midnight is refused rather than guessed at: split it
            # into two campaigns' windows or move it inside one day.
            raise ValueError(
                f"end {value:%H:%M} must be after start {start:%H:%M}"
                " (windows crossing midnight are not supported)"
            )
        return value


class PoolMember(BaseModel):
    """One member of a round-robin pool: a name (said to the caller if the campaign wants)
    and the calendar reference it books on (any ``booking.calendar`` form), or ``None`` for
    a member with no calendar, free whenever the campaign's weekly hours say."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    calendar: str | None = Field(None, min_length=1, max_length=255)

    @field_validator("name")
    @classmethod
    def _trimmed(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("a member needs a name")
        return value


DEFAULT_CALENDAR = "local"


class BookingSettings(BaseModel):
    """How a campaign books: length, window, buffers, notice, look-ahead, type and templates.

    ``pool`` books round-robin on several members' calendars instead of on ``calendar``
    (see :mod:`calendar_backend.pool`); the two are not given together.
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    calendar: str = DEFAULT_CALENDAR
    # Declared before ``availability`` so its validator can see the pool.
    pool: list[PoolMember] | None = None
    say_member_name: bool = False
    meeting_length_minutes: int = Field(30, gt=0, le=24 * 60)
    availability: Availability = Field(default_factory=Availability, validate_default=True)
    buffer_before_minutes: int = Field(0, ge=0, le=24 * 60)
    buffer_after_minutes: int = Field(0, ge=0, le=24 * 60)
    minimum_notice_minutes: int = Field(0, ge=0, le=_YEAR_MINUTES)
    look_ahead_days: int = Field(14, gt=0, le=365)
    slot_step_minutes: int | None = Field(None, gt=0, le=24 * 60)
    meeting_type: MeetingType = "video"
    address: str | None = Field(None, validate_default=True)
    title_template: str = "Meeting with {recipient.fullName}"
    description_template: str = "Booked by phone. Caller: {recipient.phone}"

    @field_validator("pool")
    @classmethod
    def _pool(cls, value: list[PoolMember] | None,
              info: ValidationInfo) -> list[PoolMember] | None:
        if value is None:
            return None
        if info.data.get("calendar", DEFAULT_CALENDAR) != DEFAULT_CALENDAR:
            # Which one books would be a guess: the campaign names one or the other.
            raise ValueError("give either booking.calendar or booking.pool, not both")
        if not value:
            raise ValueError("a pool needs at least one member")
        names = [m.name.casefold() for m in value]
        if len(set(names)) != len(names):
            raise ValueError("two pool members have the same name")
        calendars = [m.calendar for m in value if m.calendar is not None]
        if len(set(calendars)) != len(calendars):
            raise ValueError("two pool members book on the same calendar")
        return value

    @field_validator("availability")
    @classmethod
    def _zone_for_local(cls, value: Availability, info: ValidationInfo) -> Availability:
        # The embedded calendar reports no zone of its own: without one here every slot
        # lookup of a live call fails, which `campaign check` must say, not the first call.
        # A pool that failed its own checks is absent from ``info.data``: not local then.
        on_pool = info.data.get("pool", True) is not None
        if info.data.get("enabled") and info.data.get("calendar") == "local" \
                and not on_pool and value.timezone is None:
            raise ValueError("booking on the local calendar needs "
                             "booking.availability.timezone (e.g. America/New_York)")
        # A pool's members may sit in different zones (or have no calendar at all): its
        # weekly hours are the campaign's, in one stated zone.
        if info.data.get("pool") and info.data.get("enabled") and value.timezone is None:
            raise ValueError("booking on a pool needs booking.availability.timezone"
                             " (e.g. America/New_York)")
        return value

    @field_validator("address")
    @classmethod
    def _address_for_in_person(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("meeting_type") == "in_person" and not (value and value.strip()):
            raise ValueError("an in-person meeting needs an address")
        return value

    @field_validator("title_template", "description_template")
    @classmethod
    def _known_tokens(cls, value: str) -> str:
        try:
            unknown = unknown_tokens(value)
        except ValueError as exc:
            raise ValueError(f"malformed template: {exc}") from None
        if unknown:
            listed = ", ".join("{" + name + "}" for name in unknown)
            raise ValueError(f"unknown template token {listed}")
        return value

    @property
    def step_minutes(self) -> int:
        """Distance between candidate starts (defaults to the meeting length)."""
        return self.slot_step_minutes or self.meeting_length_minutes

    def render(self, template: str, recipient: Recipient, campaign_name: str) -> str:
        """Fill a title/description template; tokens without a value become empty."""
        values = {f"recipient.{k}": v for k, v in recipient.tokens().items()}
        values["campaign.name"] = campaign_name
        values["meeting.lengthMinutes"] = str(self.meeting_length_minutes)
        values["meeting.type"] = self.meeting_type.replace("_", "-")
        out = []
        for literal, name, _, _ in string.Formatter().parse(template):
            out.append(literal)
            if name is not None:
                out.append(values.get(name, ""))
        return " ".join("".join(out).split())
