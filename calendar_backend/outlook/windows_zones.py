"""Graph's zone names (Windows names, ``UTC``, a few IANA names) mapped to IANA zones.

The Windows→IANA table is CLDR's ``windowsZones.xml`` as shipped in ``tzlocal.windows_tz``;
CLDR keeps some legacy names (``India Standard Time`` -> ``Asia/Calcutta``), so every answer
is the canonical name (``Asia/Kolkata``).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from tzlocal.windows_tz import win_tz

from storage.zones import canonical_zone

_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "tzone://Microsoft/Utc", "Coordinated Universal Time"})


def iana_zone(name: str | None) -> str | None:
    """The IANA zone for a zone name Graph reported, or ``None`` when it names no real zone.

    ``None`` covers an empty value (a mailbox never opened in Outlook) and
    ``"Customized Time Zone"``; callers then fall back to the campaign's zone.
    """
    if name is None or not name.strip():
        return None
    name = name.strip()
    if name in _UTC_NAMES:
        return "UTC"
    if name in win_tz:
        return canonical_zone(win_tz[name])
    if name in available_timezones():
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            return None
        return canonical_zone(name)
    return None
