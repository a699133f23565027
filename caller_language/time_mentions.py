"""The clock times an agent's sentence mentions, and whether one can be a given slot.

Pure logic for checking what the agent said (the LLM time guard, the consent check): "Tuesday,
December 1st at 2 PM Eastern, that's 11 AM your time" mentions 2 PM (Tuesday, December 1st,
Eastern) and 11 AM (your time).

Conventions:

* Any rendering is a time: "11 AM", "11:00", "eleven o'clock", "11 in the morning", "half past
  two", "two thirty", "2:30 p.m.", "noon", "midnight", "14:00". A bare number ("eleven") is a time
  only after a time word ("at", "around", "by", "or" ...), as the next item of a list of times, or
  before a zone ("eleven Eastern"); never before a unit ("3 options", "30 minutes").
* A clause is a sentence or the part after "that's" / "which is"; commas split it into pieces.
  Days, parts of the day and zones named in a piece belong to its nearest time; a piece with no
  time ("Tuesday, December 1st at 2 PM") lends them to the next piece with one (else the last).
* Dates carry no year (slots are weeks out): ``day`` is the day of the month, ``month`` the month
  if named; "12/3" is read the US way, December 3rd.
* ``mention_matches`` judges a zone named with the time ("2 PM Eastern") in that zone only;
  "your time" / "my time" (and no zone) in any of the zones given.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from caller_language.time_phrases import (
    _CLOCK,
    _DAY_MONTH_RE,
    _MONTH_DAY_RE,
    _MONTH_NUMBER,
    _NAMED_ZONE_RE,
    _ORDINAL_DAY_RE,
    _WEEKDAYS,
    _normalise,
)
from caller_language.timezones import zone_from_answer, zone_name

__all__ = ["TimeMention", "mention_matches", "time_mentions"]


@dataclass(frozen=True, slots=True)
class TimeMention:
    """One clock time said, with the day and zone said with it."""

    text: str  # the matched words, normalised ("2:30 pm", "12:00 pm" for noon)
    hour: int  # 0-23 when said as a 24-hour time (or with no meridiem possible), else 1-12
    minute: int
    meridiem: str | None  # "am", "pm", or None when not said ("eleven")
    weekday: int | None = None  # 0 = Monday
    day: int | None = None  # day of the month named ("December 3rd", "the 3rd", "12/3")
    month: int | None = None  # month named with it
    relative_day: str | None = None  # "today", "tomorrow", "day after tomorrow"
    zone_words: tuple[str, ...] = ()  # "eastern", "your time", "tokyo time"


# Words before a bare number that make it a time, and words after one that make it a count.
_TIME_BEFORE = re.compile(
    r"\b(?:at|around|about|by|before|after|from|until|till|til|to|between|and|or|say|than)\s+$"
)
_COUNT_AFTER = re.compile(
    r"\s*(?:minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?|people|persons?|slots?"
    r"|options?|times|openings?|choices?|of|more|percent|dollars|st|nd|rd|th|x)\b"
)
_TIME_AFTER = re.compile(r"\s+(?:works?|would\s+work|is\s+(?:free|open|available|good))\b")
_PART_AFTER = re.compile(r"\s+(?:in\s+the\s+(morning|afternoon|evening)|at\s+(night)|(tonight))\b")
_PARTS = re.compile(r"\b(morning|afternoon|evening|tonight|night)s?\b")
_RELATIVE = re.compile(
    r"\b(day\s+after\s+tomorrow)\b|\b(tomorrow)\b|\b(today|tonight)\b"
    r"|\bthis\s+(?:morning|afternoon|evening)\b"
)
_WEEKDAY = re.compile(rf"\b({'|'.join(_WEEKDAYS)})s?\b")
_SIDE = re.compile(r"\b(?:your|my|our|local|the\s+caller\s+s)\s+(?:local\s+)?time\b")
_UTC_OFFSET = re.compile(r"\butc\s+(plus|minus)\s+(\d{1,2})\b")
_SLASH_DATE = re.compile(r"\b(1[0-2]|0?[1-9])/(3[01]|[12]\d|0?[1-9])\b")
_HARD_BREAK = re.compile(
    r"[.!?;]+(?=\s|$)|\b(?:that\s*'?\s*s|that\s+is|which\s+is|which\s+would\s+be|i\.e\.)\s",
    re.IGNORECASE,
)
_MENTION = re.compile(rf"\b{_CLOCK}(?![\d:]|(?:st|nd|rd|th)\b)")


@dataclass
class _Piece:
    text: str  # normalised
    clause: int
    mentions: list[tuple[int, dict[str, object]]]  # (position, fields)
    refs: list[tuple[int, str, object]]  # (position, field, value)


def _refs(s: str) -> tuple[str, list[tuple[int, str, object]]]:
    """The days, parts of the day and zones named in piece ``s``, and ``s`` with zones blanked."""
    refs: list[tuple[int, str, object]] = []
    for pattern in (_SIDE, _UTC_OFFSET, _NAMED_ZONE_RE):
        for m in pattern.finditer(s):
            named = _zone_phrase(m) if pattern is _NAMED_ZONE_RE else (m.group(0), m.start())
            if named is None:
                continue
            words, start = named
            refs.append((start, "zone", " ".join(words.split())))
            s = s[:start] + " " * (m.end() - start) + s[m.end() :]
    for m in _WEEKDAY.finditer(s):
        refs.append((m.start(), "weekday", _WEEKDAYS.index(m.group(1))))
    for m in _RELATIVE.finditer(s):
        relative = "day after tomorrow" if m.group(1) else "tomorrow" if m.group(2) else "today"
        refs.append((m.start(), "relative_day", relative))
    for m in _PARTS.finditer(s):
        refs.append((m.start(), "part", m.group(1)))
    taken: list[tuple[int, int]] = []
    for pattern in (_MONTH_DAY_RE, _DAY_MONTH_RE, _ORDINAL_DAY_RE):
        for m in pattern.finditer(s):
            if any(m.start() < end and start < m.end() for start, end in taken):
                continue
            taken.append((m.start(), m.end()))
            if pattern is _MONTH_DAY_RE:
                month, day = _MONTH_NUMBER[m.group(1)], int(m.group(2))
            elif pattern is _DAY_MONTH_RE:
                month, day = _MONTH_NUMBER[m.group(2)], int(m.group(1))
            else:
                month, day = None, int(m.group(1))
            refs.append((m.start(), "date", (month, day)))
            s = s[: m.start()] + " " * (m.end() - m.start()) + s[m.end() :]
    return s, refs


def _zone_phrase(m: re.Match[str]) -> tuple[str, int] | None:
    """The words of a "<zone> time" / "2 PM <zone>" match that name a zone, and where they start.

    Only those words: "9 AM Tokyo time" keeps its "AM".
    """
    if m.group(2):
        return m.group(2), m.start(2)
    words = m.group(1).split()
    for size in range(1, len(words) + 1):
        phrase = " ".join(words[-size:])
        if zone_from_answer(phrase, []):
            return f"{phrase} time", m.start(1) + m.group(1).rfind(words[-size])
    return None


def _mentions(
    s: str, follows_time: bool, zone_starts: list[int]
) -> list[tuple[int, dict[str, object]]]:
    found: list[tuple[int, dict[str, object]]] = []
    for m in _MENTION.finditer(s):
        hour_text, minute_text, meridiem = m.group(1), m.group(2), m.group(3)
        hour, minute = int(hour_text), int(minute_text or 0)
        part = _PART_AFTER.match(s, m.end())
        said_as_time = bool(minute_text or meridiem or "oclock" in m.group(0) or part)
        before = s[: m.start()]
        if not said_as_time:
            if _COUNT_AFTER.match(s, m.end()):
                continue
            listed = follows_time and not before.strip()
            zone_after = any(  # "eleven Eastern"
                z >= m.end() and not s[m.end() : z].strip() for z in zone_starts
            )
            time_after = _TIME_AFTER.match(s, m.end())  # "would eleven work?"
            if not (_TIME_BEFORE.search(before) or listed or zone_after or time_after or found):
                continue
        if hour > 23:
            continue
        if part and not meridiem:
            meridiem = "am" if part.group(1) == "morning" else "pm"
            if part.group(2) and hour == 12:
                meridiem = "am"  # "12 at night": midnight
            m_end = part.end()
        else:
            m_end = m.end()
        if hour == 0 or hour > 12:
            meridiem = None
        found.append((m.start(), {
            "text": " ".join(s[m.start():m_end].split()), "hour": hour, "minute": minute,
            "meridiem": meridiem,
        }))  # fmt: skip
    return found


def _pieces(sentence: str) -> list[_Piece]:
    text = re.sub(r"\b([ap])\s*\.\s*m\b\.?", r"\1m", sentence, flags=re.IGNORECASE)
    pieces: list[_Piece] = []
    follows_time = False
    for clause, part in enumerate(_HARD_BREAK.split(text)):
        for raw in part.split(","):
            dates = [(m.group(1), m.group(2)) for m in _SLASH_DATE.finditer(raw)]
            s, refs = _refs(_normalise(_SLASH_DATE.sub(" ", raw)))
            refs += [(0, "date", (int(month), int(day))) for month, day in dates]
            mentions = _mentions(s, follows_time, [r[0] for r in refs if r[1] == "zone"])
            pieces.append(_Piece(s, clause, mentions, refs))
            follows_time = bool(mentions)
    return pieces


def time_mentions(sentence: str) -> list[TimeMention]:
    """Every clock time ``sentence`` mentions, in order, with the day and zone said with it."""
    return list(_mentions_in(sentence))


# The same agent line is read for every slot it may have said (consent), and every line of
# the call again for each new sentence (the time guard): read once, looked up after.
@lru_cache(maxsize=512)
def _mentions_in(sentence: str) -> tuple[TimeMention, ...]:
    pieces = _pieces(sentence)
    for i, piece in enumerate(pieces):
        if piece.mentions or not piece.refs:
            continue
        same_clause = [p for p in pieces if p.clause == piece.clause and p.mentions]
        later = [p for p in same_clause if pieces.index(p) > i]
        target = later[0] if later else same_clause[-1] if same_clause else None
        if target is not None:
            first = target.mentions[0][0] if later else target.mentions[-1][0]
            target.refs.extend((first, kind, value) for _, kind, value in piece.refs)
    mentions: list[TimeMention] = []
    for piece in pieces:
        fields = [dict(values) for _, values in piece.mentions]
        for position, kind, value in piece.refs:
            if not fields:
                break
            nearest = min(range(len(fields)), key=lambda k: abs(piece.mentions[k][0] - position))
            _apply(fields[nearest], kind, value)
        mentions.extend(TimeMention(**values) for values in fields)  # type: ignore[arg-type]
    return tuple(mentions)


def _apply(fields: dict[str, object], kind: str, value: object) -> None:
    if kind == "zone":
        fields["zone_words"] = (*fields.get("zone_words", ()), value)  # type: ignore[misc]
    elif kind == "weekday":
        fields.setdefault("weekday", value)
    elif kind == "relative_day":
        fields.setdefault("relative_day", value)
    elif kind == "date":
        month, day = value  # type: ignore[misc]
        fields.setdefault("day", day)
        if month is not None:
            fields.setdefault("month", month)
    elif kind == "part" and fields.get("meridiem") is None:
        hour = fields["hour"]
        if isinstance(hour, int) and 1 <= hour <= 12:
            fields["meridiem"] = (
                "am" if value == "morning" or (value == "night" and hour == 12) else "pm"
            )


# --- matching -------------------------------------------------------------------------------------


def _zones_meant(zone_words: Sequence[str], zones: Sequence[str]) -> list[str]:
    """The zones a mention is judged in: the one it names, else any of ``zones``."""
    for words in zone_words:
        if m := _UTC_OFFSET.fullmatch(words):
            sign = "-" if m.group(1) == "plus" else "+"  # POSIX: Etc/GMT-5 is UTC plus 5
            return [f"Etc/GMT{sign}{int(m.group(2))}" if int(m.group(2)) else "Etc/UTC"]
        if _SIDE.fullmatch(words):
            continue
        spoken = [
            z
            for z in zones
            if _normalise(zone_name(z)) in (words, f"{words} time", words.removesuffix(" time"))
        ]
        if spoken:
            return spoken
        found = zone_from_answer(words, list(zones))
        if found:
            return [z for z in zones if zone_name(z) == zone_name(found)] or [found]
    return list(zones)


def _clock_matches(mention: TimeMention, local: datetime) -> bool:
    if mention.minute != local.minute:
        return False
    if mention.meridiem is not None:
        return mention.hour % 12 + (12 if mention.meridiem == "pm" else 0) == local.hour
    if mention.hour == 0 or mention.hour > 12:
        return mention.hour == local.hour
    return mention.hour % 12 == local.hour % 12  # "eleven": 11 AM or 11 PM


def _day_matches(mention: TimeMention, day: date, today: date) -> bool:
    shift = {"today": 0, "tomorrow": 1, "day after tomorrow": 2}
    return (
        (mention.weekday is None or mention.weekday == day.weekday())
        and (mention.day is None or mention.day == day.day)
        and (mention.month is None or mention.month == day.month)
        and (mention.relative_day is None
             or day == today + timedelta(days=shift[mention.relative_day]))
    )  # fmt: skip


def mention_matches(
    mention: TimeMention, start_utc: datetime, zones: Sequence[str], now: datetime
) -> bool:
    """Whether ``mention`` can be the slot starting at ``start_utc`` said in one of ``zones``.

    The clock time must read so in that zone ("eleven" fits 11 AM and 11 PM), and a day named
    with it (weekday, date, "today", "tomorrow") must be the slot's day there, judged from
    ``now`` in that zone. A zone named with the time is the zone it is judged in.
    """
    for zone in _zones_meant(mention.zone_words, zones):
        tz = ZoneInfo(zone)
        local = start_utc.astimezone(tz)
        if _clock_matches(mention, local) and _day_matches(
            mention, local.date(), now.astimezone(tz).date()
        ):
            return True
    return False
