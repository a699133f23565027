"""The caller's time zone: guessed from the phone number, named aloud, understood when answered.

Pure logic on phonenumbers' bundled geocoding data and the IANA database; no I/O of our own.

Conventions (decided here, relied on by the dialogue):

* ``caller_timezones`` returns canonical IANA names (``Asia/Kolkata``, never ``Asia/Calcutta``).
* Zones with the same spoken name (London, Jersey, Guernsey: all "UK time") keep the same clocks,
  so only the likeliest of them is returned.
* A number whose prefix still spans more than ``MAX_CALLER_ZONES`` zones (US toll-free numbers
  span dozens, a bare Russian mobile 16) is treated as unknown: asking "which of these eight?"
  helps nobody.
* "Most likely first": for the few North American area codes that straddle a zone line, the zone
  where most of the area code's people live comes first (``_LIKELIEST_BY_PREFIX``); elsewhere a
  short population ranking (``_ZONE_RANK``) puts e.g. London before Guernsey and São Paulo before
  Manaus; anything else keeps phonenumbers' (alphabetical) order.
* ``zone_name`` is the name callers say: "Eastern", "Arizona", "UK time", "Central European time",
  falling back to the city ("Tokyo time").
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import timezone as phone_timezone

from caller_language.en import ENGLISH
from storage.zones import canonical_zone

MAX_CALLER_ZONES = 4

# North American area codes straddling a zone line: the zone most of their people live in.
# Keys are E.164 digit prefixes (country code included); the longest matching key wins.
_LIKELIEST_BY_PREFIX: dict[str, str] = {
    "1208": "America/Boise",  # Idaho: Boise and the south are Mountain; the panhandle Pacific
    "1986": "America/Boise",  # Idaho overlay
    "1775": "America/Los_Angeles",  # northern Nevada (Reno); only West Wendover is Mountain
    "1605": "America/North_Dakota/Center",  # South Dakota: Sioux Falls side is Central
    "1701": "America/North_Dakota/Center",  # North Dakota: all but the south-west is Central
    "1709": "America/St_Johns",  # Newfoundland and Labrador: most people are on the island
    "1879": "America/St_Johns",  # Newfoundland overlay
    "1907": "America/Anchorage",  # Alaska: only the western Aleutians are on Adak time
    "1928": "America/Phoenix",  # northern Arizona: only the Navajo Nation keeps DST
}

# Populous zones first; used to order the zones of a prefix not in _LIKELIEST_BY_PREFIX.
_ZONE_RANK: tuple[str, ...] = (
    "Europe/London",
    "Europe/Moscow",
    "America/Sao_Paulo",
    "America/Mexico_City",
    "Asia/Jakarta",
    "Australia/Sydney",
    "Asia/Almaty",
    "Asia/Ulaanbaatar",
    "America/Nuuk",
    "Pacific/Tarawa",
    "Pacific/Tahiti",
    "Pacific/Chuuk",
    "Asia/Makassar",
    "Australia/Perth",
    "Australia/Adelaide",
    "Australia/Brisbane",
)

_ZONES = ENGLISH.zones
# Spoken names, as callers say them. Zones not listed fall back to "<City> time".
_SPOKEN = _ZONES.spoken
# What callers say -> (the zone meant when no candidate fits, other zones it may also mean).
# A caller's answer first picks a candidate with the same spoken name, then one of the "also"
# zones (an Arizonan saying "mountain"), and only then the default.
_ANSWER_WORDS = _ZONES.answers
# Zone cities that are also everyday words or US places callers mean instead.
_NOT_CITIES = _ZONES.not_cities
# A zone right after a one-word negator is ruled out ("not eastern").
_NEGATIONS = frozenset(word for word in ENGLISH.negators if " " not in word)
_SAME_AS_YOU = re.compile(_ZONES.same_as_you)
_SPACES = re.compile(r"[^a-z0-9]+")


def _parse_number(phone_number: str) -> phonenumbers.PhoneNumber | None:
    try:
        number = phonenumbers.parse(phone_number, None)
    except (phonenumbers.NumberParseException, ValueError, TypeError):
        return None
    return number if phonenumbers.is_valid_number(number) else None


def is_valid_phone_number(phone_number: str) -> bool:
    """Whether ``phone_number`` is a valid international (E.164, leading +) number."""
    return _parse_number(phone_number) is not None


def caller_timezones(phone_number: str) -> list[str]:
    """IANA zones for an E.164 number, most likely first; empty when unknown.

    Unknown means: not a valid number, a non-geographic number (toll-free), or a prefix spanning
    more than ``MAX_CALLER_ZONES`` zones. Several zones mean the agent should ask which.
    """
    number = _parse_number(phone_number)
    if number is None:
        return []
    zones: list[str] = []
    for zone in phone_timezone.time_zones_for_number(number):
        zone = canonical_zone(zone)
        if zone != phone_timezone.UNKNOWN_TIMEZONE and zone not in zones:
            zones.append(zone)
    digits = f"{number.country_code}{phonenumbers.national_significant_number(number)}"
    zones = _one_per_spoken_name(_likeliest_first(zones, digits))
    return zones if len(zones) <= MAX_CALLER_ZONES else []


def _one_per_spoken_name(zones: list[str]) -> list[str]:
    # Zones sharing a spoken name keep the same clocks (London, Jersey, Guernsey): asking the
    # caller to choose between them is pointless, so only the likeliest stays.
    kept: dict[str, str] = {}
    for zone in zones:
        kept.setdefault(zone_name(zone), zone)
    return list(kept.values())


def _likeliest_first(zones: list[str], digits: str) -> list[str]:
    ranked = sorted(
        zones, key=lambda z: _ZONE_RANK.index(z) if z in _ZONE_RANK else len(_ZONE_RANK)
    )
    prefixes = [p for p in _LIKELIEST_BY_PREFIX if digits.startswith(p)]
    if prefixes:
        likeliest = _LIKELIEST_BY_PREFIX[max(prefixes, key=len)]
        if likeliest in ranked:
            ranked.remove(likeliest)
            ranked.insert(0, likeliest)
    return ranked


def zone_name(zone: str) -> str:
    """The zone as callers say it: "Eastern", "Arizona", "UK time", else "Tokyo time"."""
    zone = canonical_zone(zone)
    if zone in _SPOKEN:
        return _SPOKEN[zone]
    if zone.startswith("Etc/GMT") and zone[7:]:
        # POSIX sign: Etc/GMT+5 is five hours *behind* UTC.
        sign = _ZONES.minus if zone[7] == "+" else _ZONES.plus
        return _ZONES.utc_offset.format(sign=sign, hours=zone[8:])
    city = zone.rsplit("/", 1)[-1].replace("_", " ")
    return _ZONES.city_time.format(city=city)


def _words(text: str) -> list[str]:
    return _SPACES.sub(" ", text.lower().replace("'", "")).split()


def _city_words() -> dict[str, str]:
    """City names of every zone phonenumbers knows ("new york" -> America/New_York)."""
    from phonenumbers.tzdata import TIMEZONE_DATA

    cities: dict[str, str] = {}
    for zones in TIMEZONE_DATA.values():
        for zone in zones:
            zone = canonical_zone(zone)
            city = " ".join(_words(zone.rsplit("/", 1)[-1]))
            if "/" in zone and not zone.startswith("Etc/") and city not in _NOT_CITIES:
                cities.setdefault(city, zone)
    return cities


def _answer_table() -> dict[str, tuple[str, tuple[str, ...]]]:
    table = {city: (zone, ()) for city, zone in _city_words().items()}
    table.update(_ANSWER_WORDS)
    return table


_ANSWERS = _answer_table()
_LONGEST_ANSWER = max(len(key.split()) for key in _ANSWERS)


def _named_zones(words: list[str]) -> list[tuple[str, tuple[str, ...]]]:
    """Zones the words name, longest phrase first, skipping negated ones ("not eastern")."""
    named: list[tuple[str, tuple[str, ...]]] = []
    i = 0
    while i < len(words):
        for size in range(min(_LONGEST_ANSWER, len(words) - i), 0, -1):
            phrase = " ".join(words[i : i + size])
            if phrase in _ANSWERS:
                negated = i > 0 and words[i - 1] in _NEGATIONS
                if not negated:
                    named.append(_ANSWERS[phrase])
                i += size
                break
        else:
            i += 1
    return named


def zone_from_answer(
    text: str, candidates: list[str], *, owner_zone: str | None = None
) -> str | None:
    """The zone a caller's answer names ("central time", "I'm in Chicago"); None if unclear.

    A candidate with the same spoken name wins ("mountain" with Denver and Phoenix -> Denver), but
    a clearly named zone is accepted even if it is no candidate (the caller may be travelling).
    "Same as you" means ``owner_zone`` (None when the owner's zone is not given). Answers naming
    zones with different spoken names ("Chicago, or maybe New York") are unclear: None.
    """
    words = _words(text)
    if _SAME_AS_YOU.search(" ".join(words)):
        return canonical_zone(owner_zone) if owner_zone else None
    named = _named_zones(words)
    if not named or len({zone_name(default) for default, _ in named}) > 1:
        return None
    default, also = named[0]
    spoken = zone_name(default)
    canonical_candidates = [canonical_zone(c) for c in candidates]
    for candidate in canonical_candidates:
        if zone_name(candidate) == spoken:
            return candidate
    for candidate in canonical_candidates:
        if candidate in also:
            return candidate
    return default
