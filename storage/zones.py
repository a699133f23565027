"""Canonical IANA zone names, shared by every layer that names a zone.

Phone numbers (phonenumbers' data), Windows zone names (CLDR's ``windowsZones.xml``) and
operators still produce legacy names such as ``Asia/Calcutta``; everything stored or shown
uses the current name (``Asia/Kolkata``). It lives at the bottom layer because both the caller's
language and the calendars need it, and zone names are stored.
"""

from __future__ import annotations

# Legacy IANA names -> current canonical names. The first block is exactly what phonenumbers 9.x
# returns (found by scanning phonenumbers.tzdata against tzdata 2025b's zone.tab); the rest are
# common legacy names an owner's calendar, CLDR's Windows table or a caller's answer may carry.
LEGACY_ZONES: dict[str, str] = {
    "Africa/Asmera": "Africa/Asmara",
    "America/Buenos_Aires": "America/Argentina/Buenos_Aires",
    "America/Godthab": "America/Nuuk",
    "Asia/Calcutta": "Asia/Kolkata",
    "Asia/Choibalsan": "Asia/Ulaanbaatar",
    "Asia/Katmandu": "Asia/Kathmandu",
    "Asia/Rangoon": "Asia/Yangon",
    "Atlantic/Faeroe": "Atlantic/Faroe",
    "Pacific/Enderbury": "Pacific/Kanton",
    "Pacific/Ponape": "Pacific/Pohnpei",
    "Pacific/Truk": "Pacific/Chuuk",
    # Not returned by phonenumbers today, but seen in the wild.
    "Asia/Saigon": "Asia/Ho_Chi_Minh",
    "Asia/Dacca": "Asia/Dhaka",
    "Asia/Ulan_Bator": "Asia/Ulaanbaatar",
    "Asia/Istanbul": "Europe/Istanbul",
    "Europe/Kiev": "Europe/Kyiv",
    "Europe/Uzhgorod": "Europe/Kyiv",
    "Europe/Zaporozhye": "Europe/Kyiv",
    "America/Indianapolis": "America/Indiana/Indianapolis",
    "America/Louisville": "America/Kentucky/Louisville",
    "America/Montreal": "America/Toronto",
    "US/Eastern": "America/New_York",
    "US/Central": "America/Chicago",
    "US/Mountain": "America/Denver",
    "US/Arizona": "America/Phoenix",
    "US/Pacific": "America/Los_Angeles",
    "US/Alaska": "America/Anchorage",
    "US/Hawaii": "Pacific/Honolulu",
    "GB": "Europe/London",
    "Etc/UCT": "Etc/UTC",
    "UTC": "Etc/UTC",
}


def canonical_zone(zone: str) -> str:
    """The current IANA name for ``zone`` (``Asia/Calcutta`` -> ``Asia/Kolkata``)."""
    return LEGACY_ZONES.get(zone, zone)
