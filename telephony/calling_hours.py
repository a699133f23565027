"""When a contact may be called: the campaign's calling hours in every zone the contact may be in.

A contact's zone comes from the contact list when it names one, else from the number, as the
dialogue infers it (caller_language.timezones). A number whose zone is unknown, or that spans
several zones, may only be called when it is inside the hours in *every* candidate zone: the
narrowest window that is lawful wherever the person is.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import timezone as phone_timezone
from phonenumbers.tzdata import TIMEZONE_DATA

from agent.campaign import CallingHours
from caller_language.timezones import caller_timezones
from storage.zones import canonical_zone

# Far enough to cross any weekend-free week of windows; a contact with no window in it
# (hours no candidate zone shares) is never called.
_SEARCH_DAYS = 8


def candidate_zones(phone: str, listed_zone: str | None = None) -> list[str]:
    """Every IANA zone the contact may be in: the listed zone alone when given, else the
    number's zones (all of them, even for a prefix spanning many), else its country's."""
    if listed_zone:
        return [canonical_zone(listed_zone)]
    zones = caller_timezones(phone)
    if zones:
        return zones
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return []
    unknown = phone_timezone.UNKNOWN_TIMEZONE
    raw = [canonical_zone(z) for z in phone_timezone.time_zones_for_number(number)
           if z != unknown]
    if not raw:  # non-geographic (toll-free, mobile in some plans): the whole country
        raw = [canonical_zone(z) for z in TIMEZONE_DATA.get(str(number.country_code), ())
               if z != unknown]
    return sorted(set(raw))


def within_hours(moment: datetime, zones: list[str], hours: CallingHours) -> bool:
    """Whether ``moment`` is inside ``hours`` in every one of ``zones`` (none: never)."""
    if not zones:
        return False
    for zone in zones:
        local = moment.astimezone(ZoneInfo(zone)).time().replace(tzinfo=None)
        if not hours.start <= local < hours.end:
            return False
    return True


def next_calling_time(moment: datetime, zones: list[str], hours: CallingHours) -> datetime | None:
    """The first instant at or after ``moment`` inside ``hours`` in every zone; None if there
    is none within a week (e.g. candidate zones too far apart to share any hour).

    The window shared by all zones opens when the last of them reaches its start, so the
    answer is ``moment`` itself or one of the zones' local start times.
    """
    if not zones:
        return None
    if within_hours(moment, zones, hours):
        return moment
    starts: list[datetime] = []
    for zone in zones:
        tz = ZoneInfo(zone)
        day = moment.astimezone(tz).date()
        for offset in range(_SEARCH_DAYS):
            local = datetime.combine(day + timedelta(days=offset), hours.start, tzinfo=tz)
            start = local.astimezone(UTC)
            if start > moment:
                starts.append(start)
    for start in sorted(starts):
        if within_hours(start, zones, hours):
            return start
    return None
