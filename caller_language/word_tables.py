"""The word tables of one language, in language-free types (the words live in ``en/`` etc.).

A :class:`caller_language.turns.Vocabulary` carries one of each; the readers and read-backs of
this package take every word from there, never write one of their own. Words are lower case and
written as a speech recogniser prints them (no apostrophes: "dont").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import time


@dataclass(frozen=True, eq=False)
class NumberWords:
    """Number words: said in e-mail addresses and clock times, read back as digits."""

    digits: tuple[str, ...]  # 0-9, by value: "zero" .. "nine"
    teens: tuple[str, ...]  # 10-19, by value
    tens: tuple[str, ...]  # 20, 30 .. 90, by value
    hundred: str
    thousand: str
    oh: str  # zero said as the letter inside a run of digits: "double oh seven", "ten oh five"
    cardinals: Mapping[str, int]  # 0-99 as said: "twenty three"
    ordinals: Mapping[str, int]  # 1-31 as said: "twenty first"
    written_ordinal: Callable[[int], str]  # 1 -> "1st", 12 -> "12th"


@dataclass(frozen=True, eq=False)
class Alphabet:
    """How letters are said: the spelling alphabet and the names of letters."""

    nato_by_letter: Mapping[str, str]  # letter -> the word the agent says, display form
    nato_spellings: Mapping[str, str]  # other spellings callers or recognisers print -> letter
    letter_names: Mapping[str, str]  # "jay" -> "j": a letter only next to other letters

    @property
    def nato_words(self) -> dict[str, str]:
        """Every spelling-alphabet word a caller may say, lower case -> its letter."""
        said = {word.lower(): letter for letter, word in self.nato_by_letter.items()}
        return {**said, **self.nato_spellings}


@dataclass(frozen=True, eq=False)
class EmailWords:
    """The words of a spoken e-mail address and of a correction to one (see ``email``)."""

    symbol_words: Mapping[tuple[str, ...], str]  # ("at", "sign") -> "@"
    spoken_symbols: Mapping[str, str]  # "@" -> "at": how the agent says a symbol
    phrases: Mapping[tuple[str, ...], str]  # phrases standing for one token: ("double", "u")
    hyphenated: frozenset[str]  # words written with a hyphen: "x-ray"
    case_words: frozenset[str]  # "capital", "small": force the next word to a letter
    repeats: Mapping[str, int]  # "double" -> 2
    spelling_glue: frozenset[str]  # words the spelling rules read: "as" "in", "for", "and"
    fillers: frozenset[str]
    filler_phrases: tuple[tuple[str, ...], ...]  # "all one word"
    lead_ins: tuple[str, ...]  # "my email is": dropped at the start
    markers: tuple[str, ...]  # lead-ins marking where an address starts mid-sentence
    tails: tuple[str, ...]  # "thanks", "did you get that": dropped at the end
    domain_words: frozenset[str]  # domain labels said as words in a read-back
    initialisms: frozenset[str]  # labels said as capital letters: "UK"
    repair_lead_ins: tuple[str, ...]  # "no its", "i meant": a correction follows
    hold_talk: tuple[str, ...]  # "hang on": not part of an address
    local_openings: tuple[str, ...]  # "the first part is"
    domain_openings: tuple[str, ...]  # "the domain is"
    ending_openings: tuple[str, ...]  # "it ends in"
    remove_openings: tuple[str, ...]  # "theres no"
    undouble_openings: tuple[str, ...]  # "only one"
    insert_openings: tuple[str, ...]  # "you missed the"
    joints: tuple[tuple[str, ...], ...]  # "X not Y", "X instead of Y"
    part_is: tuple[str, ...]  # "the first part its ...": before the part said again
    correction_is: tuple[str, ...]  # "not an i its a y": before the right one
    has: tuple[str, ...]  # "theres two ls", "it has double l"
    letter_is: tuple[str, ...]  # "the last letter is an m"
    double_words: frozenset[str]  # "double", "two"
    last: str  # "the last letter"
    articles: frozenset[str]  # "a", "the letter": before a letter named in a correction
    place_verbs: frozenset[str]  # "comes", "goes": "the h goes after the o"
    connectors: frozenset[str]  # words an unfinished address may end with: "at", "dot"
    separator_words: frozenset[str]  # words that only join parts: "dot", "underscore"
    restarts: tuple[str, ...]  # "no", "my email is": a fragment starting over
    common_names: frozenset[str]  # tie-breaker for an edit that makes a name ("jon" -> "john")


@dataclass(frozen=True, eq=False)
class TimeWords:
    """The words of days, dates and times (see ``time_phrases`` and ``time_mentions``)."""

    weekdays: tuple[str, ...]  # Monday first
    months: tuple[str, ...]  # January first
    month_abbreviations: Mapping[str, int]  # beyond a month's first three letters: "sept"
    parts: Mapping[str, tuple[time, time | None]]  # part of the day -> its window
    choice_ordinals: Mapping[str, int]  # "the second one" -> 1, "the last one" -> -1
    strong_words: frozenset[str]  # words that name a time by themselves ("noon")
    link_words: frozenset[str]  # words that join time words into one phrase ("after", "the")
    edge_words: frozenset[str]  # link words trimmed from a phrase's ends ("at", "on")
    determiners: frozenset[str]  # trimmed from a phrase's end ("the", "my")
    stop_words: frozenset[str]  # talk around a request, never reported as not understood
    today: str
    tomorrow: str
    noon: str
    midnight: str
    meridiems: tuple[str, str]  # said after a time: ("AM", "PM")


@dataclass(frozen=True, eq=False)
class ZoneWords:
    """How zones are named and understood (see ``timezones``)."""

    spoken: Mapping[str, str]  # IANA zone -> the name callers say ("Eastern")
    answers: Mapping[str, tuple[str, tuple[str, ...]]]  # what callers say -> (zone, also)
    bare: tuple[str, ...]  # zone names said right after a time ("5 eastern")
    not_cities: frozenset[str]  # zone cities that are everyday words ("christmas")
    city_time: str  # "{city} time": a zone with no spoken name
    utc_offset: str  # "UTC {sign} {hours}"
    plus: str
    minus: str
    same_as_you: str  # a regular expression: "same as you", "whatever you are"


@dataclass(frozen=True, eq=False)
class SpeechPhrases:
    """Phrases an offline recogniser's model is built from (with numbers, letters, days)."""

    yes_no: tuple[str, ...]
    relative_days: tuple[str, ...]  # "today", "next week"
    example_hours: tuple[str, ...]  # said after a weekday: "monday at ten"
    times: tuple[str, ...]
    email: tuple[str, ...]
    first_names: tuple[str, ...]
    domains: tuple[str, ...]
    booking: tuple[str, ...]
