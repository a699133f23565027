"""Saying times aloud and understanding the times a caller asks for.

Pure, deterministic logic; no I/O. Every datetime taken or returned is timezone-aware.

Saying (``say_slot``, ``say_time``):

* "Tuesday, December 2nd at 2 PM Eastern, that's 11 AM your time". Whole hours are "2 PM", never
  "2:00 PM" or "14:00"; other times "2:30 PM"; 12:00 is always "noon" and 00:00 "midnight".
* "today" / "tomorrow" replace the date when they apply, judged in each side's own zone.
* The caller's side is left out only when both zones read the same at that instant: the same UTC
  offset *and* the same spoken name (Toronto and New York). Phoenix and Los Angeles share an offset
  in summer but are still both said, so an Arizona caller hears their own time confirmed.
* The caller's day is said again whenever it is said differently from the owner's ("tomorrow at
  9 AM Tokyo time, that's today at 7 PM your time"). The year is never said: slots are weeks out.

Understanding (``parse_time_request``), all in the caller's zone, weeks Monday to Sunday:

* Parts of the day: morning 08:00-12:00, lunchtime 12:00-13:00, afternoon 12:00-17:00, evening
  (and "tonight") 17:00-20:00.
* A bare weekday ("Wednesday") is the next one *after* today: today is called "today".
  "this Wednesday" is the next one on or after today. "next Wednesday" is the Wednesday of next
  week (the common US reading: said on a Monday it is nine days away, not two).
* Dates ("December 3rd", "the 3rd") are the next such date on or after today.
* "later in the week": tomorrow to the end of Friday (to the end of Sunday from Friday on);
  "this week": today to Sunday; "next week": Monday to Sunday of next week; "early next week":
  Monday-Tuesday; "late next week": Thursday-Friday; "the weekend": Saturday-Sunday.
* Bare hours mean business hours: 8-11 are AM, 12 is noon, 1-7 are PM; a named part of the day
  overrides ("seven in the morning"); 13-23 are read as 24-hour times.
* A clock time without a day ("at 3") is today if it is still ahead, else tomorrow; likewise a
  part of the day ("in the morning") is today while it lasts.
* An exact time ("Wednesday at 3") gives ``exact=True``, ``start`` the named time and ``end`` one
  hour later: the dialogue offers ``start`` when free, else the closest slot in that hour.
* "after 2" runs to the end of that day, "before 11" from its start; "between 2 and 4" is 2-4 PM.
* A range that has begun is clamped to ``now``; a range already over ("this morning" said at 3 PM)
  is returned as named, and finds no slot.
* Several days named: the last one not ruled out ("Monday doesn't work, how about Wednesday",
  "move it from the 3rd to the 10th", "not Monday, Wednesday"); a date beats a weekday.
* "after lunch" is after 1 PM, "before lunch" before noon.
* "earliest you have", "soonest", "first available": ``earliest=True``; with nothing else named
  the range is ``now`` to ``now + EARLIEST_HORIZON`` (the slot engine's look-ahead applies).
* When a time or part of the day is named over several days ("mornings next week"), ``start`` and
  ``end`` span the days and ``daily`` holds each day's window.
* "the latest you have", "as late as possible", "last thing": ``latest=True`` over the day named
  (else the day talked about, else today): the dialogue offers the latest slot in the range.
* "one" after a determiner or ordinal ("that one", "the first one", "no one") is no number.
* A zone named with the times ("5 eastern", "Friday morning your time", "around five my time")
  puts them in that zone ("your time" is the owner's, "my time" the caller's), converted to the
  caller's. "around" with a zone named is a window of 30 minutes either side, ``around`` the time.

With an ``OfferContext`` (the offer on the table, the slot talked about):

* An offer picked by place ("the first one", "the later one", "option 2", "I'll take the
  second"; "that one" / "that works" when exactly one is on offer) gives ``choice``, ``exact``,
  ``start`` that slot's start and ``end`` a minute later. "not the first one" picks none.
* Relative to ``current``, in the caller's zone: "same time on Thursday" (its clock time that
  day, exact), "an hour later" / "half an hour earlier" (exact), "later that day" (after it to the
  day's end), "earlier that day" (the day's start to it), "the next day" / "the day before"
  (whole days, a time or part of the day may be added: "the next day at 3").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from caller_language.en import ENGLISH
from caller_language.timezones import zone_from_answer, zone_name

__all__ = [
    "EARLIEST_HORIZON",
    "OfferContext",
    "TimeRequest",
    "parse_time_request",
    "say_date",
    "say_slot",
    "say_time",
    "zone_name",
]

EARLIEST_HORIZON = timedelta(days=60)
EXACT_WINDOW = timedelta(hours=1)

_TIMES = ENGLISH.times
_NUMBERS = ENGLISH.numbers
_WEEKDAYS = _TIMES.weekdays
_MONTHS = _TIMES.months
_MONTH_ABBREVIATIONS = _TIMES.month_abbreviations
_MONTH_NUMBER = {m: i + 1 for i, m in enumerate(_MONTHS)} | _MONTH_ABBREVIATIONS
_MONTH_PATTERN = "|".join(sorted(_MONTH_NUMBER, key=len, reverse=True))

_PARTS = _TIMES.parts


@dataclass(frozen=True)
class TimeRequest:
    """What the caller asked for, as a range in the caller's zone."""

    start: datetime  # aware, caller's zone (range start)
    end: datetime  # aware, exclusive; always after start
    earliest: bool = False  # "earliest you have" / "soonest": no constraint beyond now
    exact: bool = False  # a specific clock time was named ("Wednesday at 3"): start is that time
    text: str = ""  # a short normalised description, e.g. "Wednesday afternoon"
    # Over several days with a time or part of the day named: each day's window (local times,
    # end None meaning midnight). None when the range is a single stretch.
    daily: tuple[time, time | None] | None = None
    choice: int | None = None  # "the second one": index into OfferContext.on_offer
    latest: bool = False  # "the latest you have": offer the latest slot in the range
    around: datetime | None = None  # "around 5 your time": the time named, to pick the closest
    # The caller's words understood ("thursday", "after lunch") and the content words not
    # understood, so the agent can say what it applied. Descriptive: not part of equality.
    applied: tuple[str, ...] = field(default=(), compare=False)
    ignored: tuple[str, ...] = field(default=(), compare=False)
    # False when no day was named ("in the morning"): the day is today's or tomorrow's by
    # default, and a later day's same window serves the caller as well.
    day_named: bool = field(default=True, compare=False)


@dataclass(frozen=True, slots=True)
class OfferContext:
    """Where the conversation is, for "the first one", "an hour later", "your time"."""

    on_offer: tuple[datetime, ...]  # aware starts of the slots in the latest offer, as said
    current: datetime | None  # the slot the caller answers: the one on offer, or the booked one
    owner_zone: str  # IANA zone of the owner ("your time")


# --- saying ---------------------------------------------------------------------------------------


_ordinal = _NUMBERS.written_ordinal


def say_time(dt_local: datetime | time) -> str:
    """A wall-clock time as said aloud: "2 PM", "2:30 PM", "noon", "midnight"."""
    hour, minute = dt_local.hour, dt_local.minute
    if minute == 0 and hour in (0, 12):
        return _TIMES.noon if hour == 12 else _TIMES.midnight
    meridiem = _TIMES.meridiems[hour >= 12]
    hour12 = hour % 12 or 12
    return f"{hour12} {meridiem}" if minute == 0 else f"{hour12}:{minute:02d} {meridiem}"


def say_date(day: date, today: date) -> str:
    """A day as said aloud: "today", "tomorrow", else "Tuesday, December 2nd"."""
    if day == today:
        return _TIMES.today
    if day == today + timedelta(days=1):
        return _TIMES.tomorrow
    return (
        f"{_WEEKDAYS[day.weekday()].title()}, {_MONTHS[day.month - 1].title()} {_ordinal(day.day)}"
    )


def _require_aware(**values: datetime) -> None:
    for name, value in values.items():
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware, got {value!r}")


def say_slot(start_utc: datetime, owner_zone: str, caller_zone: str | None, now: datetime) -> str:
    """A slot in the owner's zone and, when it reads differently, the caller's.

    "Tuesday, December 2nd at 2 PM Eastern, that's 11 AM your time". ``caller_zone`` None (not
    known yet) says the owner's side only.
    """
    _require_aware(start_utc=start_utc, now=now)
    owner = ZoneInfo(owner_zone)
    owner_local = start_utc.astimezone(owner)
    owner_day = say_date(owner_local.date(), now.astimezone(owner).date())
    said = f"{owner_day} at {say_time(owner_local)} {zone_name(owner_zone)}"
    if caller_zone is None:
        return said
    caller = ZoneInfo(caller_zone)
    caller_local = start_utc.astimezone(caller)
    if caller_local.utcoffset() == owner_local.utcoffset() and zone_name(caller_zone) == (
        zone_name(owner_zone)
    ):
        return said
    caller_day = say_date(caller_local.date(), now.astimezone(caller).date())
    if caller_day == owner_day:
        return f"{said}, that's {say_time(caller_local)} your time"
    return f"{said}, that's {caller_day} at {say_time(caller_local)} your time"


# --- understanding: normalising -------------------------------------------------------------------

_CARDINALS = {word: n for word, n in _NUMBERS.cardinals.items() if 1 <= n <= 59}
_ORDINAL_WORDS = _NUMBERS.ordinals


def _alternatives(words: dict[str, int]) -> str:
    return "|".join(w.replace(" ", r"\s+") for w in sorted(words, key=len, reverse=True))


# After an ordinal, words that make it something other than a day: "the second option".
_NOT_A_DAY = (
    r"(?:(?:thing|available|open|opening|slot|time|week|one|option|choice|offer|of\s+those"
    r"|of\s+them)s?\b|1(?!\s*(?::|am\b|pm\b|oclock\b))\b)"  # "one" is "1" by then
)
_CARDINAL_RE = re.compile(rf"\b({_alternatives(_CARDINALS)})\b")
_ORDINAL_WORD_RE = re.compile(
    rf"\b(the|{_MONTH_PATTERN})\s+({_alternatives(_ORDINAL_WORDS)})\b(?!\s+{_NOT_A_DAY})"
    rf"|\b({_alternatives(_ORDINAL_WORDS)})(?=\s+of\s+(?:{_MONTH_PATTERN})\b)"
)


# "one" as a pronoun, never a time: "that one", "the first one", "no one", "one of them".
_PRONOUN_ONE_AFTER = re.compile(
    r"\b(?:that|this|the|which|no|any|every|some|other|another|same|each|either|neither|last"
    rf"|latter|former|later|earlier|final|{_alternatives(_ORDINAL_WORDS)}|\d+(?:st|nd|rd|th))\s+$"
)
_PRONOUN_ONE_BEFORE = re.compile(r"\s+(?:of|more|another|or\s+(?:the\s+)?other)\b")
_NUMBER_ONE_BEFORE = re.compile(
    rf"\s+(?:o\s*clock|oclock|[ap]m|oh|o\s|{_alternatives(_CARDINALS)})\b|\s*:"
)


def _cardinal(match: re.Match[str]) -> str:
    word = " ".join(match.group(1).split())
    s, start, end = match.string, match.start(), match.end()
    if word == _NUMBERS.digits[1] and not _NUMBER_ONE_BEFORE.match(s, end):
        if _PRONOUN_ONE_AFTER.search(s[:start]) or _PRONOUN_ONE_BEFORE.match(s, end):
            return word
    return str(_CARDINALS[word])


def _ordinal_word(match: re.Match[str]) -> str:
    if match.group(1):
        number = _ORDINAL_WORDS[" ".join(match.group(2).split())]
        return f"{match.group(1)} {_ordinal(number)}"
    return _ordinal(_ORDINAL_WORDS[" ".join(match.group(3).split())])


def _normalise(text: str) -> str:
    s = text.lower()
    s = re.sub(r"\b([ap])\s*\.?\s*m\b\.?", r"\1m", s)  # "p.m.", "p. m." -> "pm"
    s = re.sub(r"\bo\s*'?\s*clock\b", " oclock", s)
    s = re.sub(r"(\d{1,2})\.(\d{2})\b", r"\1:\2", s)  # British "3.30"
    s = re.sub(r"[^a-z0-9:]+", " ", s)
    s = _ORDINAL_WORD_RE.sub(_ordinal_word, s)
    s = _CARDINAL_RE.sub(_cardinal, s)
    s = re.sub(r"(\d)\s*(am|pm)\b", r"\1 \2", s)
    s = re.sub(r"\b(\d{1,2})\s+(?:oh|o)\s+(\d)\b", r"\1:0\2", s)  # "ten oh five"
    s = re.sub(r"\b(\d{1,2})\s+(0\d)\b", r"\1:\2", s)
    s = re.sub(r"\bhalf\s+past\s+(\d{1,2})\b", r"\1:30", s)
    s = re.sub(r"\b(?:a\s+)?quarter\s+past\s+(\d{1,2})\b", r"\1:15", s)
    s = re.sub(
        r"\b(?:a\s+)?quarter\s+(?:to|of|till)\s+(\d{1,2})\b",
        lambda m: f"{(int(m.group(1)) - 1) % 12 or 12}:45",
        s,
    )
    s = re.sub(r"\bafter\s+lunch(?:time)?\b", "after 1:00 pm", s)
    s = re.sub(r"\bbefore\s+lunch(?:time)?\b", "before 12:00 pm", s)
    s = re.sub(r"\b(?:12\s+)?(?:noon|midday)\b", "12:00 pm", s)
    s = re.sub(r"\b(?:12\s+)?midnight\b", "12:00 am", s)
    return " ".join(s.split())


# --- understanding: the pieces --------------------------------------------------------------------

_EARLIEST_RE = re.compile(
    r"\b(?:earliest|soonest|as soon as (?:possible|you can)|asap|first available|"
    r"next available|first opening|first open|first slot|first thing)\b"
)
_FIRST_THING_RE = re.compile(r"\bfirst thing\b")
_LATEST_RE = re.compile(
    r"\b(?:latest|as late as (?:possible|you can|you have|it gets)|last thing"
    r"|last (?:slot|appointment|opening|time|meeting) (?:of|in|on) the day)\b"
)


@dataclass(frozen=True)
class _Days:
    first: date
    stop: date  # exclusive
    label: str
    part: str | None = None  # "tonight" names a part of the day too


def _next_weekday(today: date, weekday: int, *, include_today: bool) -> date:
    ahead = (weekday - today.weekday()) % 7
    if ahead == 0 and not include_today:
        ahead = 7
    return today + timedelta(days=ahead)


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _later_in_week(today: date) -> tuple[date, date]:
    tomorrow = today + timedelta(days=1)
    saturday = _monday(tomorrow) + timedelta(days=5)
    return tomorrow, saturday if tomorrow < saturday else _monday(tomorrow) + timedelta(days=7)


def _valid_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _month_day(today: date, month: int, day: int) -> date | None:
    for year in range(today.year, today.year + 9):  # Feb 29th may be years away
        found = _valid_date(year, month, day)
        if found and found >= today:
            return found
    return None


def _day_of_month(today: date, day: int) -> date | None:
    year, month = today.year, today.month
    for _ in range(13):
        found = _valid_date(year, month, day)
        if found and found >= today:
            return found
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def _one_day(day: date, label: str, part: str | None = None) -> _Days:
    return _Days(day, day + timedelta(days=1), label, part)


def _date_label(day: date) -> str:
    return f"{_MONTHS[day.month - 1].title()} {_ordinal(day.day)}"


_MONTH_DAY_RE = re.compile(rf"\b({_MONTH_PATTERN})\s+(\d{{1,2}})(?:st|nd|rd|th)?\b")
# "3 may" alone is too easily "at 3 may work": the day needs a suffix or "of".
_DAY_MONTH_RE = re.compile(
    rf"\b(\d{{1,2}})(?:(?:st|nd|rd|th)\s+(?:of\s+)?|\s+of\s+)({_MONTH_PATTERN})\b"
    r"(?!\s+(?:be|work|not|suit|do|have)\b)"  # "the 3rd may work": "may" the verb
)
_ORDINAL_DAY_RE = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)\b(?!\s+{_NOT_A_DAY})")


def _without_dates(s: str) -> str:
    """The text with dates cut out, so "December 3 at 10" reads no "3 10" clock time."""
    for pattern in (_MONTH_DAY_RE, _DAY_MONTH_RE, _ORDINAL_DAY_RE):
        s = pattern.sub(" ", s)
    return s


def _find_date(s: str, today: date) -> _Days | None:
    """The last date named and not ruled out ("move it from the 3rd to the 10th": the 10th)."""
    named: list[tuple[int, int, date | None]] = []
    for pattern in (_MONTH_DAY_RE, _DAY_MONTH_RE, _ORDINAL_DAY_RE):
        for m in pattern.finditer(s):
            if any(m.start() < end and start < m.end() for start, end, _ in named):
                continue  # "3rd" inside "December 3rd"
            if pattern is _MONTH_DAY_RE:
                found = _month_day(today, _MONTH_NUMBER[m.group(1)], int(m.group(2)))
            elif pattern is _DAY_MONTH_RE:
                found = _month_day(today, _MONTH_NUMBER[m.group(2)], int(m.group(1)))
            else:
                found = _day_of_month(today, int(m.group(1)))
            named.append((m.start(), m.end(), found))
    kept = sorted(n for n in named if not _negated(s, n[0], n[1]))
    found = kept[-1][2] if kept else None
    return _one_day(found, _date_label(found)) if found else None


def _find_days(s: str, today: date) -> _Days | None:
    """The day or days named, if any."""
    # "not today, Wednesday": a day ruled out is no day named.
    for m in reversed(list(re.finditer(r"\b(?:today|tomorrow|tonight)\b", s))):
        if _negated(s, m.start(), m.end()):
            s = s[:m.start()] + " " * (m.end() - m.start()) + s[m.end():]
    next_monday = _monday(today) + timedelta(days=7)
    if re.search(r"\bday after tomorrow\b", s):
        return _one_day(today + timedelta(days=2), say_date(today + timedelta(days=2), today))
    if re.search(r"\btomorrow\b", s):
        return _one_day(today + timedelta(days=1), "tomorrow")
    if re.search(r"\btonight\b", s):
        return _one_day(today, "tonight", "evening")
    if re.search(r"\btoday\b|\bthis\s+(?:morning|afternoon|evening)\b", s):
        return _one_day(today, "today")
    if re.search(r"\bearly\s+next\s+week\b", s):
        return _Days(next_monday, next_monday + timedelta(days=2), "early next week")
    if re.search(r"\b(?:late|later|end\s+of)\s+next\s+week\b", s):
        thursday = next_monday + timedelta(days=3)
        return _Days(thursday, thursday + timedelta(days=2), "late next week")
    if re.search(r"\bweek\s+after\s+next\b", s):
        monday = next_monday + timedelta(days=7)
        return _Days(monday, monday + timedelta(days=7), "the week after next")
    if re.search(r"\bnext\s+weekend\b", s):
        saturday = next_monday + timedelta(days=5)
        return _Days(saturday, saturday + timedelta(days=2), "next weekend")
    if re.search(r"\bnext\s+week\b", s):
        return _Days(next_monday, next_monday + timedelta(days=7), "next week")
    if re.search(r"\bend\s+of\s+(?:the|this)\s+week\b", s):
        first, stop = _later_in_week(today)
        thursday = _monday(today) + timedelta(days=3)
        return _Days(max(first, thursday) if max(first, thursday) < stop else first, stop,
                     "the end of the week")  # fmt: skip
    if re.search(r"\blater\s+(?:in\s+|on\s+)?(?:the\s+|this\s+)week\b", s):
        first, stop = _later_in_week(today)
        return _Days(first, stop, "later in the week")
    if re.search(r"\bthis\s+week\b", s):
        return _Days(today, next_monday, "this week")
    if re.search(r"\bweekend\b", s):
        saturday = _next_weekday(today, 5, include_today=True) if today.weekday() < 6 else today
        return _Days(saturday, _monday(saturday) + timedelta(days=7), "the weekend")
    if found := _find_date(s, today):
        return found
    if m := _last_weekday(s):
        weekday = _WEEKDAYS.index(m.group(2))
        name = m.group(2).title()
        if m.group(1) == "next":
            return _one_day(next_monday + timedelta(days=weekday), f"next {name}")
        day = _next_weekday(today, weekday, include_today=m.group(1) is not None)
        return _one_day(day, "today" if day == today else name)
    return None


_WEEKDAY_RE = re.compile(rf"\b(?:(next|this|coming)\s+)?({'|'.join(_WEEKDAYS)})s?\b")
_NEGATED_BEFORE = re.compile(
    r"\b(?:not|except|other\s+than|instead\s+of|rather\s+than"
    r"|(?:don\s*t|do\s+not)\s+want|can\s*t\s+do|cannot\s+do"
    r"|(?:move|moving|change|switch|push)\s+(?:it\s+|that\s+|the\s+\w+\s+)?from)"
    r"\s+(?:on\s+)?(?:the\s+)?$"
)
# A verb negator as the normalised text may print it: "doesnt", "doesn t", "does not".
_VERB_NEGATOR = "|".join(
    re.sub(r"nt$", r"n\\s*t", negator).replace(" ", r"\s+")
    for negator in sorted(ENGLISH.verb_negators, key=len, reverse=True)
)
_NEGATED_AFTER = re.compile(
    rf"^\s+(?:(?:{_VERB_NEGATOR})\b"
    r"|is\s+(?:bad|out|no\s+good)\b|(?:is\s+)?(?:booked|full|taken)\b)"
)


def _negated(s: str, start: int, end: int) -> bool:
    """Whether the words around s[start:end] rule it out ("not Monday", "Monday won't work")."""
    return bool(_NEGATED_BEFORE.search(s[:start]) or _NEGATED_AFTER.match(s[end:]))


def _last_weekday(s: str) -> re.Match[str] | None:
    """The last weekday named and not ruled out: "Monday doesn't work, how about Wednesday"."""
    named = [m for m in _WEEKDAY_RE.finditer(s) if not _negated(s, m.start(), m.end())]
    return named[-1] if named else None


def _find_part(s: str) -> str | None:
    if m := re.search(r"\b(morning|afternoon|evening|lunch|lunchtime)s?\b|\b(night)\b", s):
        word = m.group(1) or "evening"
        return "lunchtime" if word == "lunch" else word
    return None


# A clock time: "3", "3:30", "3 pm", "15:00", "3 oclock", "10 30".
_CLOCK = r"(\d{1,2})(?!\d)(?:(?::|\s)([0-5]\d)(?!\d))?(?:\s+(am|pm)\b)?(?:\s+oclock)?"


@dataclass(frozen=True)
class _Clock:
    hour: int
    minute: int
    meridiem: str | None

    def resolve(self, part: str | None) -> time | None:
        """The wall-clock time meant, by the business-hours convention; None if impossible."""
        hour = self.hour
        if self.meridiem == "am":
            hour = hour % 12 if hour <= 12 else -1
        elif self.meridiem == "pm":
            hour = hour % 12 + 12 if hour <= 12 else -1
        elif 1 <= hour <= 12:
            if part == "morning":
                hour %= 12
            elif part in ("afternoon", "evening", "lunchtime") or hour == 12 or hour <= 7:
                hour = hour % 12 + 12
        if not 0 <= hour <= 23:
            return None
        return time(hour, self.minute)


def _clock(m: re.Match[str], first: int) -> _Clock:
    hour, minute, meridiem = m.group(first), m.group(first + 1), m.group(first + 2)
    return _Clock(int(hour), int(minute or 0), meridiem)


def _is_clock(m: re.Match[str], first: int) -> bool:
    """Whether a bare number is surely a time: it has minutes, AM/PM or "o'clock"."""
    return bool(m.group(first + 1) or m.group(first + 2) or "oclock" in m.group(0))


# Words after a bare number that make it a time: "seven in the morning", "4 tomorrow".
_TIME_FOLLOWS = (
    r"(?:in\s+the\s+(?:morning|afternoon|evening)|at\s+night|tonight|today|tomorrow|"
    r"this\s+(?:morning|afternoon|evening)|works|would\s+work|is\s+(?:good|fine|better))\b"
)


@dataclass(frozen=True)
class _Times:
    kind: str  # "exact", "after", "before", "between"
    first: _Clock
    second: _Clock | None = None


def _find_times(s: str) -> _Times | None:
    """The clock time or bounds named, if any."""
    if m := re.search(rf"\b(?:between|from)\s+{_CLOCK}\s+(?:and|to|till|until)\s+{_CLOCK}", s):
        first, second = _clock(m, 1), _clock(m, 4)
        if first.meridiem is None and second.meridiem and first.hour <= second.hour:
            first = _Clock(first.hour, first.minute, second.meridiem)
        return _Times("between", first, second)
    if m := re.search(rf"\b(?:no|not)\s+later\s+than\s+{_CLOCK}", s):
        return _Times("before", _clock(m, 1))
    if m := re.search(rf"\b(?:no|not)\s+(?:earlier\s+than|before)\s+{_CLOCK}", s):
        return _Times("after", _clock(m, 1))
    if m := re.search(rf"\b(?:after|from|since|later\s+than)\s+{_CLOCK}", s):
        return _Times("after", _clock(m, 1))
    if m := re.search(rf"\b(?:before|by|until|till|til|earlier\s+than)\s+{_CLOCK}", s):
        return _Times("before", _clock(m, 1))
    if m := re.search(rf"\b(?:at|around|about|say|maybe|make\s+it|do)\s+{_CLOCK}", s):
        return _Times("exact", _clock(m, 1))
    if m := re.search(rf"\b{_CLOCK}(?=\s+{_TIME_FOLLOWS})", s):
        return _Times("exact", _clock(m, 1))
    for m in re.finditer(rf"\b{_CLOCK}", s):
        if _is_clock(m, 1):
            return _Times("exact", _clock(m, 1))
    return None


# --- understanding: putting it together -----------------------------------------------------------


def _at(day: date, moment: time | None, zone: ZoneInfo) -> datetime:
    """``moment`` (None: midnight at the end) on ``day``, a real instant even across DST."""
    if moment is None:
        day, moment = day + timedelta(days=1), time(0)
    local = datetime.combine(day, moment, tzinfo=zone)
    # Round-tripping through UTC turns a time skipped by spring-forward into a real one.
    return local.astimezone(UTC).astimezone(zone)


def _plus(moment: datetime, delta: timedelta) -> datetime:
    # Absolute-time arithmetic, so an hour is an hour even on a DST night.
    return (moment.astimezone(UTC) + delta).astimezone(moment.tzinfo)


def _minutes(moment: time | None) -> int:
    return 24 * 60 if moment is None else moment.hour * 60 + moment.minute


# (day window start, its end or None for midnight, the exact time named or None, clock label)
_Window = tuple[time, time | None, time | None, str]


def _part_window(part: str | None) -> _Window:
    low, high = _PARTS[part] if part else (time(0), None)
    return low, high, None, ""


def _window(part: str | None, times: _Times) -> _Window | None:
    """The day window for the clock times named; None when they name no real time."""
    low, high, _, _ = _part_window(part)
    first = times.first.resolve(part)
    if first is None:
        return None
    if times.kind == "exact":
        return low, high, first, f"at {say_time(first)}"
    if times.kind == "between":
        second = times.second.resolve(part) if times.second else None
        if second is None or _minutes(_end_of_day(second)) <= _minutes(first):
            return None
        label = f"between {say_time(first)} and {say_time(second)}"
        return first, _end_of_day(second), None, label
    if times.kind == "after":
        if _minutes(first) >= _minutes(high):
            high = None  # "mornings after 2": the time wins over the part of the day
        return max(low, first), high, None, f"after {say_time(first)}"
    end = _end_of_day(first)
    if _minutes(end) <= _minutes(low):
        low = time(0)
    return low, (end if _minutes(end) < _minutes(high) else high), None, f"before {say_time(first)}"


def _end_of_day(moment: time) -> time | None:
    """As the end of a window, midnight is the end of the day ("before midnight")."""
    return None if moment == time(0) else moment


def _plain_request(s: str, now: datetime, latest_day: date | None) -> TimeRequest | None:
    """The request in normalised text ``s``, in the zone of ``now``; None if nothing time-like."""
    zone = now.tzinfo
    assert isinstance(zone, ZoneInfo)
    today = now.date()
    latest = bool(_LATEST_RE.search(s))
    s = _LATEST_RE.sub(" ", s)
    earliest = bool(_EARLIEST_RE.search(s))
    first_thing = bool(_FIRST_THING_RE.search(s))
    s = _EARLIEST_RE.sub(" ", s)
    days = _find_days(s, today)
    part = _find_part(s) or (days.part if days else None) or ("morning" if first_thing else None)
    times = _find_times(_without_dates(s))
    window = _window(part, times) if times else None
    if window is None:  # no clock time, or none that exists ("at 25"): the part of the day rules
        times, window = None, _part_window(part)
    if latest and days is None and part is None and times is None:
        # "The latest you have" alone: on the day being talked about, else today.
        day = latest_day or today
        days = _one_day(day, say_date(day, today))
    if days is None and part is None and times is None:
        if not earliest:
            return None
        return TimeRequest(now, _plus(now, EARLIEST_HORIZON), earliest=True, text="the earliest")
    low, high, exact, clock_label = window
    day_label = days.label if days else ""
    day_named = days is not None
    if days is None:
        # No day named: today while the time or part of the day is still ahead, else tomorrow.
        ahead = _at(today, exact, zone) > now if exact else _at(today, high, zone) > now
        day = today if ahead else today + timedelta(days=1)
        days = _one_day(day, "today" if ahead else "tomorrow")
        day_label = days.label
    single_day = days.stop == days.first + timedelta(days=1)
    if part is None or day_label == "tonight":
        when = day_label
    elif not single_day:
        when = f"{part}s {day_label}"  # "mornings next week"
    elif part == "lunchtime":
        when = f"{day_label} at lunchtime"
    elif day_label == "today":
        when = f"this {part}"
    else:
        when = f"{day_label} {part}"
    first_word = "earliest" if earliest else "latest" if latest else ""
    label = " ".join(w for w in (first_word, when, clock_label) if w)
    if exact and single_day:
        start = _at(days.first, exact, zone)
        return TimeRequest(start, _plus(start, EXACT_WINDOW), earliest, True, label, latest=latest,
                           day_named=day_named)
    if exact:
        high = (datetime.combine(today, exact) + EXACT_WINDOW).time()
        low, high = exact, high if high > exact else None
    start = _at(days.first, low, zone)
    end = _at(days.stop - timedelta(days=1), high, zone)
    if end <= start:  # a window inside a spring-forward gap ("between 2:30 and 3 AM")
        end = _plus(start, EXACT_WINDOW)
    if start < now < end:
        start = now
    whole_days = low == time(0) and high is None
    daily = None if single_day or whole_days else (low, high)
    return TimeRequest(start, end, earliest, False, label, daily, latest=latest,
                       day_named=day_named)


# --- understanding: the conversation and the caller's day -----------------------------------------

_CHOICE_ORDINALS = _TIMES.choice_ordinals
_CHOICE_WORDS = _alternatives(dict.fromkeys(_CHOICE_ORDINALS, 0))
_CHOICE_RE = re.compile(
    rf"\b(?:the\s+|that\s+|this\s+)?({_CHOICE_WORDS})\s+(?:one|option|slot|time|choice"
    r"|of\s+(?:those|them|these|the\s+(?:two|2|three|3)))s?\b"
    r"|\b(?:option|number|choice)\s+([1-5])\b|\bthe\s+(latter|former)\b"
)
# "I'll take the second", or the whole answer "the 2nd please": with several on offer, an ordinal
# names one of them (unless an offer falls on that day of the month: then it is the date).
_BARE_CHOICE_RE = re.compile(
    r"(?:\b(?:take|want|prefer|go\s+with|do|book|choose|pick|like)\s+|^(?:(?:um|uh|er|erm|ok"
    r"|okay|yeah|yes|so|well|oh|hmm)\s+)*)the\s+(1st|2nd|3rd|4th|5th|last)"
    r"(?:\s+(?:one|please|is\s+fine|works|is\s+good|sounds\s+good|thanks|thank\s+you))*$"
)
_DEICTIC_RE = re.compile(
    r"\b(?:that|this)\s+(?:one|time|slot)\b|\bthe\s+one\s+you\s+(?:said|mentioned|offered)\b"
    r"|\bthat\s+(?:works|would\s+work|sounds\s+good|s\s+(?:fine|good|perfect|great))\b"
    r"|\bthats\s+(?:fine|good|perfect|great)\b"
)
_OFFSET_RE = re.compile(
    r"\b(?:(half\s+an?\s+hour)|(an?|\d{1,3})\s+(hours?|hrs?|minutes?|mins?)(\s+and\s+a\s+half)?)"
    r"\s+(later|earlier|after(?:\s+that)?|before(?:\s+that)?|sooner)\b"
)
_LATER_SAME_DAY_RE = re.compile(
    r"\b(?:a\s+(?:bit|little)\s+|slightly\s+)?(later|earlier)\s+(?:on\s+)?"
    r"(?:that\s+(?:same\s+)?day|the\s+same\s+day|in\s+the\s+day|that\s+day)\b"
    r"|\b(?:a\s+(?:bit|little)|slightly)\s+(later|earlier)\b"
    r"(?!\s+(?:in|on|this|next|today|tomorrow|tonight|tuesday|\d))"
)
_SAME_TIME_NEXT_WEEK_RE = re.compile(r"\bsame\s+time\s+next\s+week\b")
_SAME_TIME_RE = re.compile(r"\b(?:the\s+)?same\s+time\b")
_CURRENT_DAY_RE = re.compile(
    r"\b(?:(?:that\s+)?same\s+day|that\s+day)\b"
    r"|\bthe\s+(?:(day\s+after)(?!\s+tomorrow)|(next|following)\s+day|(day\s+before))\b"
)
_AROUND_RE = re.compile(rf"\b(?:around|about|roughly|approximately|say)\s+{_CLOCK}")
_CALLER_SIDE_RE = re.compile(r"\b(?:in\s+)?my\s+(?:local\s+)?(?:time|side|end)\b|\blocal\s+time\b")
_OWNER_SIDE_RE = re.compile(
    r"\b(?:in\s+)?(?:your|the\s+office\s+s|their)\s+(?:local\s+)?(?:time|side|end)\b"
)
# Zone names callers say bare, right after a time ("5 eastern"); others need "time" after them.
_BARE_ZONE_WORDS = ENGLISH.zones.bare
_NAMED_ZONE_RE = re.compile(
    rf"\b((?:[a-z]+\s+){{0,2}}[a-z]+)\s+(?:standard\s+|daylight\s+)?time\b"
    rf"|(?<=\d\s)(?:(?:am|pm|oclock)\s+)?({'|'.join(_BARE_ZONE_WORDS)})\b"
)
AROUND_WINDOW = timedelta(minutes=30)


def _clock_words(moment: datetime) -> str:
    """``moment``'s wall-clock time in the normalised form the parser reads: "at 2:30 pm"."""
    return f"at {moment.hour % 12 or 12}:{moment.minute:02d} {'am' if moment.hour < 12 else 'pm'}"


def _date_words(day: date) -> str:
    return f"{_MONTHS[day.month - 1]} {day.day}"


def _chosen(context: OfferContext, index: int, now: datetime) -> TimeRequest:
    start = context.on_offer[index].astimezone(now.tzinfo)
    label = f"{say_date(start.date(), now.date())} at {say_time(start)}"
    return TimeRequest(start, _plus(start, timedelta(minutes=1)), exact=True, text=label,
                       choice=index)  # fmt: skip


def _explicit_choice(s: str, context: OfferContext) -> int | None:
    """The offer picked by its place: "the second one", "the later one", "option 2"."""
    count = len(context.on_offer)
    picked: int | None = None
    for m in _CHOICE_RE.finditer(s):
        if _negated(s, m.start(), m.end()):
            continue
        if m.group(2):
            picked = int(m.group(2)) - 1
        else:
            picked = _CHOICE_ORDINALS[m.group(1) or m.group(3)]
    if picked is None and count >= 2 and (m := _BARE_CHOICE_RE.search(s)):
        picked = _CHOICE_ORDINALS[m.group(1)]
        days_of_month = {offer.day for offer in context.on_offer}
        if picked >= 0 and int(m.group(1)[:-2]) in days_of_month:
            picked = None  # "the 3rd" with an offer on the 3rd: the date
    if picked is None or not -count <= picked < count:
        return None
    return picked % count


def _deictic_choice(s: str, context: OfferContext) -> int | None:
    """ "That one", "that works": the offer, when exactly one is on the table."""
    if len(context.on_offer) != 1:
        return None
    named = [m for m in _DEICTIC_RE.finditer(s) if not _negated(s, m.start(), m.end())]
    return 0 if named else None


def _offset(m: re.Match[str]) -> timedelta:
    if m.group(1):
        minutes = 30
    else:
        amount = 1 if m.group(2) in ("a", "an") else int(m.group(2))
        minutes = amount * (60 if m.group(3).startswith("h") else 1)
        if m.group(4) and m.group(3).startswith("h"):
            minutes += 30
    sign = -1 if m.group(5).startswith(("earlier", "before", "sooner")) else 1
    return timedelta(minutes=sign * minutes)


def _relative_to_current(
    s: str, now: datetime, current: datetime
) -> tuple[str, TimeRequest | None]:
    """Forms relative to the slot talked about: a finished request, or ``s`` rewritten.

    "later that day" is the rest of that day after ``current``; "an hour later", "same time on
    Thursday", "the next day" are rewritten into a clock time or date the plain parser reads.
    """
    zone = now.tzinfo
    assert isinstance(zone, ZoneInfo)
    day = current.date()
    if m := _LATER_SAME_DAY_RE.search(s):
        if (m.group(1) or m.group(2)) == "later":
            start, end = _plus(current, timedelta(minutes=1)), _at(day, None, zone)
            label = f"{say_date(day, now.date())} after {say_time(current)}"
        else:
            start, end = _at(day, time(0), zone), current
            label = f"{say_date(day, now.date())} before {say_time(current)}"
        if end <= start:  # nothing left of that day (a slot at midnight)
            end = _plus(start, timedelta(minutes=1))
        if start < now < end:
            start = now
        return s, TimeRequest(start, end, text=label)
    if m := _OFFSET_RE.search(s):
        target = _plus(current, _offset(m))
        return f"{s[: m.start()]} {_clock_words(target)} {_date_words(target.date())}", None
    if m := _SAME_TIME_NEXT_WEEK_RE.search(s):
        target = day + timedelta(days=7)
        return (
            f"{s[: m.start()]} {_clock_words(current)} {_date_words(target)} {s[m.end() :]}",
            None,
        )
    s = _SAME_TIME_RE.sub(f" {_clock_words(current)} ", s)
    if m := _CURRENT_DAY_RE.search(s):
        shift = 1 if m.group(1) or m.group(2) else -1 if m.group(3) else 0
        target = day + timedelta(days=shift)
        if target >= now.date():  # a past day is no date to look at
            s = f"{s[: m.start()]} {_date_words(target)} {s[m.end() :]}"
    return s, None


def _named_zone(
    s: str, caller: ZoneInfo, context: OfferContext | None
) -> tuple[ZoneInfo, str, str] | None:
    """The zone the caller names for the times: (zone, its name for the label, ``s`` without it)."""
    if m := _CALLER_SIDE_RE.search(s):
        return caller, "your time", s[: m.start()] + " " + s[m.end() :]
    if context is not None and (m := _OWNER_SIDE_RE.search(s)):
        owner = ZoneInfo(context.owner_zone)
        return owner, zone_name(context.owner_zone), s[: m.start()] + " " + s[m.end() :]
    candidates = [caller.key] + ([context.owner_zone] if context else [])
    for m in _NAMED_ZONE_RE.finditer(s):
        words = (m.group(1) or m.group(2)).split()
        for size in range(1, len(words) + 1):  # the fewest words nearest "time" that name a zone
            found = zone_from_answer(" ".join(words[-size:]), candidates)
            if found:
                cut = m.end() - len(m.group(0)) + m.group(0).rfind(words[-size])
                # "5 eastern": the number stays a clock time once the zone is cut out.
                mark = " oclock " if re.search(r"(?:\d|am|pm)\s*$", s[:cut]) else " "
                return ZoneInfo(found), zone_name(found), s[:cut] + mark + s[m.end() :]
    return None


def _in_zone(request: TimeRequest, zone: ZoneInfo) -> TimeRequest:
    """The request worked out in another zone, said in ``zone`` (its daily window too)."""
    start, end = request.start.astimezone(zone), request.end.astimezone(zone)
    daily = None
    if request.daily is not None:
        low = start.time()
        high = (
            None
            if request.daily[1] is None
            else _plus(
                start, timedelta(minutes=_minutes(request.daily[1]) - _minutes(request.daily[0]))
            ).time()
        )
        daily = (low, high) if high is None or high > low else None  # a window over midnight
    return replace(request, start=start, end=end, daily=daily)


def _understood(s: str, now: datetime, context: OfferContext | None) -> TimeRequest | None:
    zone = now.tzinfo
    assert isinstance(zone, ZoneInfo)
    latest_day = None
    if context is not None:
        if (choice := _explicit_choice(s, context)) is not None:
            return _chosen(context, choice, now)
        if context.current is not None:
            current = context.current.astimezone(zone)
            latest_day = current.date()
            s, relative = _relative_to_current(s, now, current)
            if relative is not None:
                return relative
    around = _AROUND_RE.search(s)
    named = _named_zone(s, zone, context)
    if named is None:
        request = _plain_request(s, now, latest_day)
    else:
        named_zone, name, s = named
        request = _plain_request(s, now.astimezone(named_zone), latest_day)
        if request is not None:
            request = replace(_in_zone(request, zone), text=f"{request.text} {name}")
            if around and request.exact:
                request = replace(
                    request, start=_plus(request.start, -AROUND_WINDOW),
                    end=_plus(request.start, AROUND_WINDOW), exact=False, around=request.start,
                    text=request.text.replace(" at ", " around ", 1),
                )  # fmt: skip
    if (
        request is None
        and context is not None
        and (choice := _deictic_choice(s, context)) is not None
    ):
        return _chosen(context, choice, now)
    return request


def parse_time_request(
    text: str, now: datetime, caller_zone: str, context: OfferContext | None = None
) -> TimeRequest | None:
    """What time the caller asks for, as a range in their zone; None if nothing time-like is said.

    Handles days ("Wednesday", "next Tuesday", "tomorrow", "December 3rd", "the 3rd", "next
    week", "later in the week"), parts of the day ("Friday morning"), clock times ("at 3", "3 PM",
    "three o'clock", "half past two", "noon"), bounds ("any time Thursday after 2"), "earliest
    you have" and "the latest you have", inside whole sentences ("how about 10 AM tomorrow?").
    Times in a named zone ("5 eastern", "around 5 your time") are converted to the caller's.
    With ``context``: offers picked by place ("the second one", "that one") and times relative
    to the slot talked about ("an hour later", "same time on Thursday", "later that day").
    See the module docstring for the conventions. ``now`` must be aware; an unknown
    ``caller_zone`` raises ``zoneinfo.ZoneInfoNotFoundError``.
    """
    _require_aware(now=now)
    if context is not None:
        _require_aware(**{f"on_offer[{i}]": o for i, o in enumerate(context.on_offer)})
        if context.current is not None:
            _require_aware(current=context.current)
    # Equal aware datetimes are the same instant, possibly said in different zones; the
    # offers' own offsets count (their dates are read as given), so they join the key.
    offsets = tuple(o.utcoffset() for o in context.on_offer) if context is not None else ()
    return _parsed(text, now, caller_zone, context, offsets)


# A turn's time words are read where the dialogue decides, again where the tool finds slots,
# and again by the consent check: the reading is pure and a TimeRequest immutable.
@lru_cache(maxsize=512)
def _parsed(
    text: str, now: datetime, caller_zone: str, context: OfferContext | None,
    _offsets: tuple[timedelta | None, ...],
) -> TimeRequest | None:
    now = now.astimezone(ZoneInfo(caller_zone))
    request = _understood(_normalise(text), now, context)
    if request is None:
        return None
    applied, ignored = _words_understood(text)
    return replace(request, applied=applied, ignored=ignored)


# --- understanding: which words were used ---------------------------------------------------------

# Words that name a time by themselves; a run of time words is reported only if it has one.
_STRONG_WORDS = _TIMES.strong_words
# Words that join time words into one phrase ("after lunch on friday", "the first one").
_LINK_WORDS = _TIMES.link_words
_EDGE_WORDS = _TIMES.edge_words
# Fillers, stop-words and the talk around a request: never reported as ignored.
_STOP_WORDS = _TIMES.stop_words


def _words_understood(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(phrases of time words, content words not understood) in what the caller said."""
    s = text.lower()
    s = re.sub(r"\b([ap])\s*\.\s*m\b\.?", r"\1m", s)
    s = re.sub(r"\bo\s*'\s*clock\b", "oclock", s).replace("'", "")
    words = re.sub(r"[^a-z0-9:]+", " ", s).split()
    applied: list[str] = []
    ignored: list[str] = []
    run: list[str] = []

    def close() -> None:
        if any(w in _STRONG_WORDS or w[0].isdigit() for w in run):
            while run[0] in _EDGE_WORDS:
                run.pop(0)
            while run[-1] in _EDGE_WORDS or run[-1] in _TIMES.determiners:
                run.pop()
            applied.append(" ".join(run))
        else:
            ignored.extend(w for w in run if w not in _STOP_WORDS)
        run.clear()

    for word in words:
        if word in _STRONG_WORDS or word in _LINK_WORDS or word[0].isdigit():
            run.append(word)
            continue
        if run:
            close()
        if word not in _STOP_WORDS:
            ignored.append(word)
    if run:
        close()
    for m in _DEICTIC_RE.finditer(" ".join(words)):
        if m.group(0) not in " | ".join(applied):
            applied.append(m.group(0))
    return tuple(dict.fromkeys(applied)), tuple(dict.fromkeys(ignored))
