"""Spoken e-mail addresses: from a speech recogniser's transcript to an address, and back.

``parse_spoken_email`` turns what the recogniser printed ("my email is j as in juliet o h n at
example dot com") into ``john@example.com`` or refuses with a reason the agent can act on.
``nato_readback`` gives the words the agent says to confirm it, spelling the user name with NATO
words; parsing a read-back gives the same address back.

Words versus letters (the rules, in the order they apply):

* a single letter ("j") is always that letter; a number word is always digits ("twenty three" is
  23, "one two three" is 123; "oh" between digits is 0);
* "X as in Word" and "X for Word" spell one letter; the letter is the first letter of the word
  after "as in" (that word is the clearer half when the recogniser mishears "b" for "d"), while
  "for" only counts when the word starts with the letter;
* a NATO word ("kilo") is a letter when next to another NATO word ("kilo echo november") or after
  "capital", "double", "the letter" and the like; a lone NATO word is kept as a word, so
  "mike at example dot com" is mike@example.com;
* a letter name ("jay", "ess") is a letter when next to any other spelled letter ("jay oh aitch
  en"); a lone one stays a word ("jay smith");
* every other word is kept whole and words are joined without spaces ("john s m i t h" is
  johnsmith).

Nothing is corrected: "gmial" stays gmial, since the read-back is where the caller fixes it.

``repair_email`` applies what the caller says after the read-back ("no its j o h n", "double l",
"dot org not dot com") to the held address instead of starting over; ``join_spoken_email`` and
``is_partial_email`` handle an address said over several turns. A refusal's ``reason`` is a
``NotUnderstoodReason`` for the dialogue to choose a prompt; its message is for logs only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from caller_language.en import ENGLISH
from caller_language.spelling import (
    DIGIT_WORDS,
    DOMAIN_WORDS,
    INITIALISMS,
    LETTER_NAMES,
    NATO_BY_LETTER,
    NATO_WORDS,
    NUMBER_WORDS,
    SYMBOL_NAMES,
    TEENS,
    TENS,
    UNITS,
)


class NotUnderstoodReason(StrEnum):
    """Why a transcript gave no address: for logs, and for the dialogue to pick a polite prompt.

    Each value is the log phrase (so ``str(reason)`` reads well in a log); the dialogue keys its
    prompt templates on the member, never reads the value to a caller.
    """

    NOTHING_HEARD = "nothing heard"
    NO_AT = "no 'at' heard"
    NO_USER = "no user name heard"
    NO_DOMAIN = "no domain heard"
    MORE_THAN_ONE = "more than one address heard"
    AT_TWICE = "'at' heard twice in a row"
    DOMAIN_NO_DOT = "the domain has no dot"
    DOMAIN_DOT_AT_EDGE = "the domain starts or ends with a dot"
    DOMAIN_DOUBLE_DOT = "the domain has two dots in a row"
    DOMAIN_BAD_CHARACTER = "the domain can only have letters, digits, dashes and dots"
    DOMAIN_DASH_AT_EDGE = "a part of the domain starts or ends with a dash"
    DOMAIN_BAD_ENDING = "the domain must end in two or more letters, like 'com'"
    USER_DOT_AT_EDGE = "the user name starts or ends with a dot"
    USER_DOUBLE_DOT = "the user name has two dots in a row"
    USER_BAD_CHARACTER = (
        "the user name can only have letters, digits, dots, underscores, dashes and plus signs"
    )
    TOO_LONG = "the address is too long"
    REPEAT_WITHOUT_LETTER = "'double' or 'triple' heard without a letter or digit after it"
    AS_IN_WITHOUT_LETTER = "'as in' heard without a letter before it"
    AS_IN_WITHOUT_WORD = "'as in' heard without a word after it"


# Module-level names kept for existing callers (``email.NO_AT`` and so on).
NOTHING_HEARD = NotUnderstoodReason.NOTHING_HEARD
NO_AT = NotUnderstoodReason.NO_AT
NO_USER = NotUnderstoodReason.NO_USER
NO_DOMAIN = NotUnderstoodReason.NO_DOMAIN
MORE_THAN_ONE = NotUnderstoodReason.MORE_THAN_ONE
AT_TWICE = NotUnderstoodReason.AT_TWICE
DOMAIN_NO_DOT = NotUnderstoodReason.DOMAIN_NO_DOT
DOMAIN_DOT_AT_EDGE = NotUnderstoodReason.DOMAIN_DOT_AT_EDGE
DOMAIN_DOUBLE_DOT = NotUnderstoodReason.DOMAIN_DOUBLE_DOT
DOMAIN_BAD_CHARACTER = NotUnderstoodReason.DOMAIN_BAD_CHARACTER
DOMAIN_DASH_AT_EDGE = NotUnderstoodReason.DOMAIN_DASH_AT_EDGE
DOMAIN_BAD_ENDING = NotUnderstoodReason.DOMAIN_BAD_ENDING
USER_DOT_AT_EDGE = NotUnderstoodReason.USER_DOT_AT_EDGE
USER_DOUBLE_DOT = NotUnderstoodReason.USER_DOUBLE_DOT
USER_BAD_CHARACTER = NotUnderstoodReason.USER_BAD_CHARACTER
TOO_LONG = NotUnderstoodReason.TOO_LONG
REPEAT_WITHOUT_LETTER = NotUnderstoodReason.REPEAT_WITHOUT_LETTER
AS_IN_WITHOUT_LETTER = NotUnderstoodReason.AS_IN_WITHOUT_LETTER
AS_IN_WITHOUT_WORD = NotUnderstoodReason.AS_IN_WITHOUT_WORD


class EmailNotUnderstood(ValueError):
    """The transcript is not exactly one usable address.

    ``reason`` (a NotUnderstoodReason) is for the dialogue to choose what to ask; the message
    ("no 'at' heard (heard 'it')") is for logs only and is never read to the caller.
    """

    def __init__(self, reason: NotUnderstoodReason, heard: str = "") -> None:
        self.reason = reason
        self.heard = heard
        super().__init__(f"{reason} (heard {heard!r})" if heard else str(reason))


# --- vocabulary ------------------------------------------------------------------------------

_WORDS = ENGLISH.email

_SYMBOL_WORDS = _WORDS.symbol_words
# Phrases that stand for one other token.
_PHRASES = _WORDS.phrases
# Words before a letter that say how it is written; they force a NATO word or name to a letter.
_CASE_WORDS = _WORDS.case_words
_REPEATS = _WORDS.repeats
_FILLERS = _WORDS.fillers
_FILLER_PHRASES = _WORDS.filler_phrases
_LEAD_INS: tuple[tuple[str, ...], ...] = tuple(tuple(phrase.split()) for phrase in _WORDS.lead_ins)
# Lead-ins that also mark where the address starts mid-sentence ("... and my email is ...").
_MARKERS: tuple[tuple[str, ...], ...] = tuple(tuple(phrase.split()) for phrase in _WORDS.markers)
_TAILS: tuple[tuple[str, ...], ...] = tuple(tuple(phrase.split()) for phrase in _WORDS.tails)

# Words the parser gives a meaning to anywhere but the start: never said as a domain word.
RESERVED_WORDS: frozenset[str] = frozenset(
    {word for phrase in (*_SYMBOL_WORDS, *_PHRASES, *_FILLER_PHRASES, *_TAILS) for word in phrase}
    | set(NATO_WORDS) | set(LETTER_NAMES) | NUMBER_WORDS | _CASE_WORDS | set(_REPEATS)
    | _FILLERS | _WORDS.spelling_glue | _WORDS.hyphenated
)  # fmt: skip

_ZERO = DIGIT_WORDS[0]
_SYMBOLS = "@._+-"
_LOCAL_RE = re.compile(r"[a-z0-9._+\-]+")
_LABEL_RE = re.compile(r"[a-z0-9\-]+")
_VOWELS = frozenset("aeiouy")


@dataclass(frozen=True)
class _Token:
    """One word of the transcript; ``literal`` if it came from written text like ``a@b.com``."""

    text: str
    literal: bool = False


# --- parsing ---------------------------------------------------------------------------------


def parse_spoken_email(transcript: str) -> str:
    """The one e-mail address in a recogniser's transcript, lower-cased.

    Raises EmailNotUnderstood (a ValueError) with a reason when the transcript is not exactly one
    valid address: nothing heard, no "at", nothing before or after it, no dot in the domain, two
    addresses, or characters an address cannot hold.
    """
    tokens = _merge_phrases(_strip_talk(_tokens(transcript)))
    if not tokens:
        raise EmailNotUnderstood(NOTHING_HEARD)
    address = "".join(_Spelling(tokens).characters())
    if not address:
        raise EmailNotUnderstood(NOTHING_HEARD)
    return check_address(address)


def check_address(address: str) -> str:
    """The address lower-cased if it is one valid address, else EmailNotUnderstood."""
    address = address.lower()
    parts = address.split("@")
    if len(parts) == 1:
        raise EmailNotUnderstood(NO_AT, address)
    if len(parts) > 2:
        if any(not part for part in parts[1:-1]):
            raise EmailNotUnderstood(AT_TWICE, address)
        raise EmailNotUnderstood(MORE_THAN_ONE, address)
    local, domain = parts
    if not local:
        raise EmailNotUnderstood(NO_USER, address)
    if not domain:
        raise EmailNotUnderstood(NO_DOMAIN, address)
    _check_local(local)
    _check_domain(domain)
    if len(local) > 64 or len(address) > 254:
        raise EmailNotUnderstood(TOO_LONG, address)
    return address


def _check_local(local: str) -> None:
    if not _LOCAL_RE.fullmatch(local):
        raise EmailNotUnderstood(USER_BAD_CHARACTER, local)
    if local.startswith(".") or local.endswith("."):
        raise EmailNotUnderstood(USER_DOT_AT_EDGE, local)
    if ".." in local:
        raise EmailNotUnderstood(USER_DOUBLE_DOT, local)


def _check_domain(domain: str) -> None:
    if not all(_LABEL_RE.fullmatch(label) for label in domain.split(".") if label):
        raise EmailNotUnderstood(DOMAIN_BAD_CHARACTER, domain)
    if "." not in domain:
        raise EmailNotUnderstood(DOMAIN_NO_DOT, domain)
    if domain.startswith(".") or domain.endswith("."):
        raise EmailNotUnderstood(DOMAIN_DOT_AT_EDGE, domain)
    labels = domain.split(".")
    if not all(labels):
        raise EmailNotUnderstood(DOMAIN_DOUBLE_DOT, domain)
    if any(label.startswith("-") or label.endswith("-") for label in labels):
        raise EmailNotUnderstood(DOMAIN_DASH_AT_EDGE, domain)
    ending = labels[-1]
    if len(ending) < 2 or not ending.isalpha():
        raise EmailNotUnderstood(DOMAIN_BAD_ENDING, domain)
    if any(len(label) > 63 for label in labels):
        raise EmailNotUnderstood(TOO_LONG, domain)


def _tokens(transcript: str) -> list[_Token]:
    """Words of the transcript, with written addresses split into their parts and symbols."""
    text = re.sub(r"(?<![\w@.+-])e-mail(?![\w@.+-])", "email", transcript.lower())
    text = re.sub(r"['’‘`]", "", text)  # "it's" → "its", "o'brien" → "obrien"
    # A full stop ending a sentence ("... dot com.", "j. o. h. n.") is not part of the address;
    # a dot inside written text ("gmail.com") or standing alone (" . ") is.
    text = re.sub(r"(?<=\S)\.+(?=\s|$)", " ", text)
    text = re.sub(r"[^\w@.+\-\s]", " ", text)  # commas, question marks, other punctuation
    tokens: list[_Token] = []
    for chunk in text.split():
        tokens.extend(_chunk_tokens(chunk))
    return tokens


def _chunk_tokens(chunk: str) -> list[_Token]:
    if not any(symbol in chunk for symbol in _SYMBOLS) or chunk in _KNOWN_HYPHENATED:
        return [_Token(chunk)]
    parts = chunk.split("-")
    if all(part in NUMBER_WORDS for part in parts):  # "twenty-three"
        return [_Token(part) for part in parts]
    if len(parts) >= 3 and all(len(part) == 1 and part.isalnum() for part in parts):
        return [_Token(part) for part in parts]  # "j-o-h-n": how recognisers print spelling
    # Written text ("john@gmail", "gmail.com"): every piece is taken as written.
    return [_Token(piece, literal=True) for piece in re.findall(r"[@._+\-]|[^@._+\-]+", chunk)]


_KNOWN_HYPHENATED = _WORDS.hyphenated


def _strip_talk(tokens: list[_Token]) -> list[_Token]:
    """Drop fillers anywhere, lead-ins ("my email is") at the start and tails ("thanks").

    Talk before a mid-sentence lead-in goes too: in "my name is John and my email is john at
    example dot com" the address starts after "my email is".
    """
    tokens = _drop_filler_phrases([t for t in tokens if t.literal or t.text not in _FILLERS])
    while True:
        for phrase in _LEAD_INS:
            if _starts_with(tokens, 0, phrase) and not _keeps_lead_in(tokens, 0, phrase):
                tokens = tokens[len(phrase) :]
                break
        else:
            break
    tokens = tokens[_after_last_marker(tokens) :]
    while True:
        for phrase in _TAILS:
            start = len(tokens) - len(phrase)
            if start >= 0 and _starts_with(tokens, start, phrase):
                tokens = tokens[:start]
                break
        else:
            break
    return tokens


def _keeps_lead_in(tokens: list[_Token], start: int, phrase: tuple[str, ...]) -> bool:
    """A one-word lead-in right before "at" is the user name ("email at example dot com")."""
    return len(phrase) == 1 and _is_at(tokens, start + 1)


def _is_at(tokens: list[_Token], i: int) -> bool:
    return i < len(tokens) and tokens[i].text in ("at", "@")


def _after_last_marker(tokens: list[_Token]) -> int:
    """Where the address starts: after the last lead-in found before the first "at", else 0."""
    start = i = 0
    while i < len(tokens) and not _is_at(tokens, i):
        phrase = next(
            (
                p
                for p in _MARKERS
                if _starts_with(tokens, i, p) and not _keeps_lead_in(tokens, i, p)
            ),
            None,
        )
        i += len(phrase) if phrase else 1
        start = i if phrase else start
    return start


def _drop_filler_phrases(tokens: list[_Token]) -> list[_Token]:
    out: list[_Token] = []
    i = 0
    while i < len(tokens):
        phrase = next((p for p in _FILLER_PHRASES if _starts_with(tokens, i, p)), None)
        if phrase:
            i += len(phrase)
        else:
            out.append(tokens[i])
            i += 1
    return out


def _starts_with(tokens: list[_Token], start: int, phrase: tuple[str, ...]) -> bool:
    window = tokens[start : start + len(phrase)]
    return len(window) == len(phrase) and all(
        not token.literal and token.text == word for token, word in zip(window, phrase, strict=True)
    )


_MERGES: list[tuple[tuple[str, ...], str]] = sorted(
    [*_SYMBOL_WORDS.items(), *_PHRASES.items()], key=lambda item: -len(item[0])
)


def _merge_phrases(tokens: list[_Token]) -> list[_Token]:
    """Replace spoken symbols and multi-word phrases by one token each (longest match first)."""
    out: list[_Token] = []
    i = 0
    while i < len(tokens):
        for phrase, replacement in _MERGES:
            if _starts_with(tokens, i, phrase):
                # Symbols become literal so no later rule reads them as words.
                out.append(_Token(replacement, literal=replacement in _SYMBOLS))
                i += len(phrase)
                break
        else:
            token = tokens[i]
            if not token.literal and token.text in ("dotcom", "dotnet", "dotorg"):
                out.extend([_Token(".", literal=True), _Token(token.text[3:])])
            else:
                out.append(token)
            i += 1
    return out


class _Spelling:
    """Turns merged tokens into address characters, one rule at a time (see module docstring)."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.out: list[str] = []
        # Where the last spelled letter (or "double t") sits in ``out``, for a following "as in".
        self.last_letter: int | None = None

    def word(self, i: int) -> str:
        """The text of token ``i`` if it is a spoken (not literal) word, else ''."""
        if 0 <= i < len(self.tokens) and not self.tokens[i].literal:
            return self.tokens[i].text
        return ""

    def characters(self) -> list[str]:
        i = 0
        while i < len(self.tokens):
            i = self.step(i)
        return self.out

    def emit(self, text: str, letter: bool = False) -> None:
        self.out.append(text)
        self.last_letter = len(self.out) - 1 if letter else None

    def step(self, i: int) -> int:
        """Consume the token(s) at ``i``; returns the index of the next unread token."""
        token = self.tokens[i]
        if token.literal:
            self.emit(token.text, letter=len(token.text) == 1 and token.text.isalpha())
            return i + 1
        word = token.text
        if word == "as" and self.word(i + 1) == "in":
            return self.as_in(i + 2)
        if word == "for" and self.last_letter is not None and self.clarifies(i + 1):
            return i + 2
        if word in _REPEATS:
            return self.repeat(i + 1, _REPEATS[word])
        if word in _CASE_WORDS:
            letter = self.letter_at(i + 1, forced=True)
            if letter:
                self.emit(letter, letter=True)
                return i + 2
            return self.plain(i)  # "small business": a word after all
        if word in NUMBER_WORDS:
            return self.number(i)
        if word == "oh" and self.out and self.out[-1][-1:].isdigit() and self.is_digit(i + 1):
            self.emit("0")
            return i + 1
        letter = self.letter_at(i, forced=False)
        if letter:
            self.emit(letter, letter=True)
            return i + 1
        return self.plain(i)

    def plain(self, i: int) -> int:
        """Token ``i`` kept as the word it is ("john", "example")."""
        self.emit(self.tokens[i].text.replace("-", ""))
        return i + 1

    def letter_at(self, i: int, forced: bool) -> str:
        """The letter token ``i`` spells, or '' if it is not a spelled letter here."""
        word = self.word(i)
        if len(word) == 1 and word.isalpha():
            return word
        spelled_next = self.word(i + 1) == "as" and self.word(i + 2) == "in"
        if word in NATO_WORDS:
            near_nato = self.word(i - 1) in NATO_WORDS or self.word(i + 1) in NATO_WORDS
            return NATO_WORDS[word] if forced or near_nato or spelled_next else ""
        if word in LETTER_NAMES:
            near = self.is_letterish(i - 1) or self.is_letterish(i + 1)
            return LETTER_NAMES[word] if forced or near or spelled_next else ""
        return ""

    def is_letterish(self, i: int) -> bool:
        word = self.word(i)
        return (len(word) == 1 and word.isalpha()) or word in NATO_WORDS or word in LETTER_NAMES

    def is_digit(self, i: int) -> bool:
        word = self.word(i)
        return word in UNITS or word == _ZERO or (word.isascii() and word.isdigit())

    def clarifies(self, i: int) -> bool:
        """Whether word ``i`` starts with the letter just spelled ("j for juliet")."""
        word = self.word(i)
        assert self.last_letter is not None
        return bool(word) and word[0] == self.out[self.last_letter][0]

    def as_in(self, i: int) -> int:
        """After "as in": the word at ``i`` names the letter just spelled."""
        if self.last_letter is None:
            raise EmailNotUnderstood(AS_IN_WITHOUT_LETTER)
        word = self.word(i)
        if not word or not word[0].isalpha():
            raise EmailNotUnderstood(AS_IN_WITHOUT_WORD)
        letter = NATO_WORDS.get(word, word[0])
        self.out[self.last_letter] = letter * len(self.out[self.last_letter])
        return i + 1

    def repeat(self, i: int, times: int) -> int:
        """After "double"/"triple": the letter or digit at ``i``, that many times."""
        while self.word(i) in _CASE_WORDS:
            i += 1
        if self.word(i) == "oh" and self.is_digit(i + 1):  # "double oh seven"
            self.emit("0" * times)
            return i + 1
        letter = self.letter_at(i, forced=True)
        if letter:
            self.emit(letter * times, letter=True)
            return i + 1
        word = self.word(i)
        if word in UNITS or word == _ZERO:
            self.emit(str(DIGIT_WORDS.index(word)) * times)
            return i + 1
        raise EmailNotUnderstood(REPEAT_WITHOUT_LETTER)

    def number(self, i: int) -> int:
        """A spoken number from ``i`` ("twenty three", "one hundred and five") as digits."""
        if self.word(i) == _ZERO:
            self.emit("0")
            return i + 1
        value, j = self.below_thousand(i)
        if j == i:  # a bare "hundred" or "thousand": keep the word
            return self.plain(i)
        if self.word(j) == "thousand":
            value *= 1000
            j += 1
            rest, k = self.below_thousand(self.skip_and(j))
            if k > self.skip_and(j):
                value, j = value + rest, k
        self.emit(str(value))
        return j

    def below_thousand(self, i: int) -> tuple[int, int]:
        word = self.word(i)
        if word in UNITS and self.word(i + 1) == "hundred":
            value, j = UNITS[word] * 100, i + 2
            rest, k = self.below_hundred(self.skip_and(j))
            return (value + rest, k) if k > self.skip_and(j) else (value, j)
        return self.below_hundred(i)

    def skip_and(self, i: int) -> int:
        """Past an "and" that joins number words ("one hundred and five"), else ``i``."""
        if self.word(i) == "and" and self.word(i + 1) in NUMBER_WORDS:
            return i + 1
        return i

    def below_hundred(self, i: int) -> tuple[int, int]:
        word = self.word(i)
        if word in TENS:
            if self.word(i + 1) in UNITS:
                return TENS[word] + UNITS[self.word(i + 1)], i + 2
            return TENS[word], i + 1
        if word in TEENS:
            return TEENS[word], i + 1
        if word in UNITS:
            return UNITS[word], i + 1
        return 0, i


# --- read-back -------------------------------------------------------------------------------


def nato_readback(address: str) -> str:
    """The words the agent says to confirm ``address``, without a lead-in or question.

    The user name is spelled character by character ("J as in Juliet, O as in Oscar, one, dot");
    domain labels that are known words are said as words ("at example dot com"), others are
    spelled the same way. The caller wraps it: "Let me read that back: {readback}. Did I get that
    right?". ``parse_spoken_email`` of the result gives ``address`` back.
    """
    address = check_address(address)
    local, domain = address.split("@")
    return f"{_spell(local)}, at {_say_domain(domain)}"


def readback_part(part: str) -> str:
    """The words for one part of an address, as :func:`nato_readback` says it: a domain
    (``outlook.com`` -> "outlook dot com") or a user name, spelled letter by letter."""
    return _say_domain(part) if "." in part and "@" not in part else _spell(part.lstrip("@"))


def _say_domain(domain: str) -> str:
    said_domain, previous_spelled = "", False
    for index, label in enumerate(domain.split(".")):
        said, spelled = _say_label(label)
        if index:
            said_domain += ", dot " if previous_spelled else " dot "
        said_domain += said
        previous_spelled = spelled
    return said_domain


def _spell(text: str) -> str:
    return ", ".join(_say_character(character) for character in text)


def _say_character(character: str) -> str:
    if character in NATO_BY_LETTER:
        return f"{character.upper()} as in {NATO_BY_LETTER[character]}"
    if character.isdigit():
        return DIGIT_WORDS[int(character)]
    return SYMBOL_NAMES[character]


def _say_label(label: str) -> tuple[str, bool]:
    """One domain label, and whether any of it was spelled.

    Dash-separated parts that are words are said as words ("my dash company"); the rest is spelled
    ("T as in Tango, dash, mobile").
    """
    parts = [_say_word(part) if part else "" for part in label.split("-")]
    if all(parts):
        return " dash ".join(parts), False
    spoken: list[str] = []
    for index, part in enumerate(label.split("-")):
        if index:
            spoken.append("dash")
        if part:
            spoken.append(_say_word(part) or _spell(part))
    return ", ".join(spoken), True


def _say_word(part: str) -> str:
    """``part`` as one or two known words ("example", "mail chimp"), or '' if it must be spelled."""
    if _is_word(part):
        return part.upper() if part in INITIALISMS else part
    for cut in range(3, len(part) - 2):
        head, tail = part[:cut], part[cut:]
        if _is_word(head) and _is_word(tail) and tail not in INITIALISMS:
            return f"{head} {tail}"
    return ""


def _is_word(part: str) -> bool:
    return part in DOMAIN_WORDS and not _VOWELS.isdisjoint(part)


# --- repairs: the caller corrects part of a read-back -------------------------------------------
#
# Grammar, in the order tried (the first reading that gives a valid address wins):
#
# 1. a named part given again: "the first part is jane dot doe" / "before the at its jdoe" (LOCAL),
#    "the domain is yahoo dot com" / "its at outlook dot com" / "no at hotmail" (DOMAIN; one label
#    keeps the held ending), "ends in dot net" / "its dot co dot uk" (ENDING);
# 2. a whole new address ("no its jane at example dot com"): WHOLE;
# 3. "X not Y" / "not Y its X" / "X instead of Y": letters ("m not n"), endings ("dot org not
#    dot com") or words ("gmail not gmial", "smith not smyth");
# 4. letter edits: "double l" / "two ls", "theres no e" / "drop the e", "theres an h after the o" /
#    "you missed the h", "the last letter is an m";
# 5. a word with an instruction ("its john with an h", "smith with two ts"), or a bare spelled word
#    after a correction lead-in ("no its j o h n"): the held word it is closest to is replaced.
#
# Which letter is meant: only the user name and domain labels that are not known words
# (DOMAIN_WORDS: "gmail" is never what the caller misspelled) nor the ending are edited. When the
# letter occurs several times, the caller's hint decides (a word they spelled, "after the o",
# "the last letter"); failing that, the one edit that turns a part into a common name
# (_COMMON_NAMES: "jon" + "h" → "john"); failing that, None, and the dialogue asks again.


class RepairKind(StrEnum):
    """What a correction changed; says which part the agent re-reads (EmailRepair.changed)."""

    LETTER = "letter"  # one character replaced, inserted or removed (or a /k/ "ch" by "k")
    DOUBLE = "double"  # one letter doubled ("double l", "two ls")
    LOCAL = "local"  # the user name given again
    DOMAIN = "domain"  # the domain given again
    ENDING = "ending"  # only the ending (".org not .com")
    WHOLE = "whole"  # a whole new address


@dataclass(frozen=True, slots=True)
class EmailRepair:
    """A correction applied to the held address.

    ``changed`` is the part to re-read: the corrected user name or domain label for LETTER and
    DOUBLE, the new user name for LOCAL, the new domain for DOMAIN and ENDING, the address for
    WHOLE.
    """

    address: str
    kind: RepairKind
    changed: str


def _phrases(*phrases: str) -> tuple[tuple[str, ...], ...]:
    """Phrases as word tuples, longest first so "its actually" wins over "its"."""
    return tuple(sorted((tuple(p.split()) for p in phrases), key=len, reverse=True))


# Openings of a correction; stripping one is itself a sign that a correction follows.
_REPAIR_LEAD_INS = _phrases(*_WORDS.repair_lead_ins)
_HOLD_TALK = _phrases(*_WORDS.hold_talk)
_LOCAL_OPENINGS = _phrases(*_WORDS.local_openings)
_DOMAIN_OPENINGS = _phrases(*_WORDS.domain_openings)
_ENDING_OPENINGS = _phrases(*_WORDS.ending_openings)
_REMOVE_OPENINGS = _phrases(*_WORDS.remove_openings)
_UNDOUBLE_OPENINGS = _phrases(*_WORDS.undouble_openings)
_INSERT_OPENINGS = _phrases(*_WORDS.insert_openings)
_JOINTS = _WORDS.joints  # "X not Y"
_PART_IS = _phrases(*_WORDS.part_is)  # "the domain is ...": "is" before the new part
_CORRECTION_IS = _phrases(*_WORDS.correction_is)  # "not an i its a y"
_HAS = _phrases(*_WORDS.has)  # "theres two ls"
_LETTER_IS = _phrases(*_WORDS.letter_is)  # "the last letter is an m"
_DOUBLE_WORDS = _WORDS.double_words
# "the second letter": first to fifth, and the last.
_ORDINALS = {
    word: n - 1 for word, n in ENGLISH.numbers.ordinals.items() if n <= 5
} | {_WORDS.last: -1}
_ARTICLES = _WORDS.articles
_SPOKEN_SYMBOLS = SYMBOL_NAMES
# Second-level labels that belong to a country ending ("co" in "co.uk"): one ending, two labels.
# DNS names, not words of a language.
_SECOND_LEVEL = frozenset({"co", "com", "org", "net", "ac", "gov", "edu", "ltd", "plc", "or", "ne"})
# Tie-breaker only, for a letter the caller names without saying where ("you missed the h").
_COMMON_NAMES = _WORDS.common_names


def repair_email(held: str, spoken: str) -> EmailRepair | None:
    """The held address with the caller's spoken correction applied, or None.

    ``held`` is the address the agent read back; ``spoken`` is the caller's reply as a recogniser
    printed it ("no its j o h n", "dot org not dot com", "double l"). None when the reply is not a
    correction that can be applied unambiguously ("yes thats right", "um", "hold on", a letter
    that occurs several times with nothing saying which): the dialogue then asks again. Every
    result passes check_address. Never raises.
    """
    words = _repair_words(spoken)
    body, signalled = _strip_phrases(words, _REPAIR_LEAD_INS)
    body = _strip_tail(body)
    if not body:
        return None
    whole = _whole(spoken)
    try:
        held = check_address(held)
    except EmailNotUnderstood:
        return whole  # nothing to repair: only a whole new address helps
    repair = (
        _named_part(held, body)
        or whole
        or _not_form(held, body)
        or _letter_edit(held, body)
        or _with_word(held, body)
    )
    if repair:
        return repair
    # A bare word ("j o h n") is only a correction when spelled or after "no", "its" and the like.
    spelled = sum(bool(_letter([word])) for word in body) >= 2
    if not (signalled or spelled):
        return None
    word = _characters(body)
    return _fix_word(held, word) or _restated(held, word)


def _restated(held: str, word: str) -> EmailRepair | None:
    """A part said again with nothing naming it ("no its john underscore smith"): a dotted run
    ending in a known ending is the domain, any other run with a separator the user name."""
    local, domain = held.split("@")
    if not word or "@" in word or not set(word) & set(_SYMBOLS) or word in (local, domain):
        return None
    ending = word.rsplit(".", 1)[-1]
    if "." in word and (ending == domain.rsplit(".", 1)[-1] or ending in DOMAIN_WORDS):
        return _repaired(held, f"{local}@{word}", RepairKind.DOMAIN)
    return _repaired(held, f"{word}@{domain}", RepairKind.LOCAL)


def _whole(spoken: str) -> EmailRepair | None:
    try:
        address = parse_spoken_email(spoken)
    except EmailNotUnderstood:
        return None
    return EmailRepair(address, RepairKind.WHOLE, address)


def _repair_words(spoken: str) -> list[str]:
    """Words of a reply, fillers dropped and written symbols named ("@" → "at")."""
    return [
        _SPOKEN_SYMBOLS.get(token.text, token.text)
        for token in _tokens(spoken)
        if token.text not in _FILLERS
    ]


def _strip_phrases(
    words: list[str], phrases: tuple[tuple[str, ...], ...]
) -> tuple[list[str], bool]:
    """``words`` without any run of ``phrases`` at the start, and whether any was there."""
    stripped = False
    while True:
        phrase = next((p for p in phrases if tuple(words[: len(p)]) == p), None)
        if phrase is None:
            return words, stripped
        words, stripped = words[len(phrase) :], True


_TAILS_REVERSED = tuple(sorted((tail[::-1] for tail in _TAILS), key=len, reverse=True))


def _strip_tail(words: list[str]) -> list[str]:
    """``words`` without closing talk ("thanks", "please")."""
    return _strip_phrases(words[::-1], _TAILS_REVERSED)[0][::-1]


def _find(words: list[str], phrase: tuple[str, ...]) -> int:
    """Index of the first occurrence of ``phrase`` in ``words``, or -1."""
    return next((i for i in range(len(words)) if tuple(words[i : i + len(phrase)]) == phrase), -1)


def _letter(words: list[str]) -> str:
    """The one letter or digit a phrase names ("an h", "h as in hotel", "aitch"), else ''."""
    while len(words) > 1 and words[0] in _ARTICLES:
        words = words[1:]
    if len(words) == 4 and words[1:3] == ["as", "in"] and _letter(words[:1]) and words[3]:
        return NATO_WORDS.get(words[3], words[3][0])  # the word after "as in" wins, as in parsing
    if len(words) == 3 and words[1] == "for" and _letter(words[:1]) == words[2][:1]:
        return words[2][0]
    if len(words) != 1:
        return ""
    word = words[0]
    if len(word) == 1 and word.isascii() and word.isalnum():
        return word
    if word in DIGIT_WORDS:
        return str(DIGIT_WORDS.index(word))
    return NATO_WORDS.get(word) or LETTER_NAMES.get(word, "")


def _plural_letter(words: list[str]) -> str:
    """The letter in "ls", "l s", "ells", "tees" (or a plain letter phrase)."""
    if len(words) == 2 and words[1] == "s":
        return _letter(words[:1])
    if len(words) == 1 and len(words[0]) >= 2 and words[0].endswith("s"):
        return _letter([words[0][:-1]]) or _letter([words[0][:-2]])
    return _letter(words)


def _characters(words: list[str]) -> str:
    """What the words write ("j o h n" → john, "jane dot doe" → jane.doe), '' if unreadable."""
    try:
        return "".join(_Spelling(_merge_phrases(_tokens(" ".join(words)))).characters())
    except EmailNotUnderstood:
        return ""


def _valid(address: str) -> str:
    try:
        return check_address(address)
    except EmailNotUnderstood:
        return ""


def _ending_size(labels: list[str]) -> int:
    """How many labels make the ending: 1 ("com"), 2 for a country's second level ("co.uk")."""
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL:
        return 2
    return 1


def _repaired(held: str, address: str, kind: RepairKind | None = None) -> EmailRepair | None:
    """The repair giving ``address``; ``kind`` None means read it from the edit itself."""
    address = _valid(address)
    if not address:
        return None
    local, domain = address.split("@")
    if kind is not None:
        changed = {RepairKind.LOCAL: local, RepairKind.WHOLE: address}.get(kind, domain)
        return EmailRepair(address, kind, changed)
    held_local, held_domain = held.split("@")
    if domain == held_domain and local != held_local:
        edit = _edit_kind(held_local, local)
        return EmailRepair(address, edit or RepairKind.LOCAL, local)
    if local == held_local and domain != held_domain:
        old, new = held_domain.split("."), domain.split(".")
        differing = [i for i in range(len(new)) if len(old) == len(new) and old[i] != new[i]]
        edit = _edit_kind(old[differing[0]], new[differing[0]]) if len(differing) == 1 else None
        if edit:
            return EmailRepair(address, edit, new[differing[0]])
        return EmailRepair(address, RepairKind.DOMAIN, domain)
    return None  # nothing changed, or everything did: not a repair of this kind


def _edit_kind(old: str, new: str) -> RepairKind | None:
    """LETTER for one character replaced, inserted or removed; DOUBLE for a letter doubled."""
    if len(new) == len(old) + 1:
        for i in range(len(new)):
            if new[:i] + new[i + 1 :] == old:
                doubled = new[i].isalpha() and new[i] in (new[i - 1 : i], new[i + 1 : i + 2])
                return RepairKind.DOUBLE if doubled else RepairKind.LETTER
    if len(new) == len(old) - 1 and any(old[:i] + old[i + 1 :] == new for i in range(len(old))):
        return RepairKind.LETTER
    if len(new) == len(old) - 1 and any(
        old[i : i + 2] == "ch" and old[:i] + "k" + old[i + 2 :] == new for i in range(len(old))
    ):
        return RepairKind.LETTER  # a /k/ "ch" said as the one letter k (see _substituted)
    if len(new) == len(old) and sum(a != b for a, b in zip(old, new, strict=True)) == 1:
        return RepairKind.LETTER
    return None


# --- 1. a named part given again ---


def _named_part(held: str, body: list[str]) -> EmailRepair | None:
    for openings, reading in (
        (_LOCAL_OPENINGS, _new_local),
        (_DOMAIN_OPENINGS, _new_domain),
        (_ENDING_OPENINGS, _new_ending),
    ):
        rest, opened = _strip_phrases(body, openings)
        if opened:
            rest, _ = _strip_phrases(rest, _PART_IS)
            return reading(held, _before_not(rest))
    if body[-3:] == ["before", "the", "at"]:
        return _new_local(held, body[:-3])
    if body[0] == "at":
        return _new_domain(held, _before_not(body))
    if body[0] == "dot":
        return _new_ending(held, _before_not(body))
    return None


def _before_not(words: list[str]) -> list[str]:
    """The words before "not": in "gmail not gmial" with a part named, the old adds nothing."""
    cuts = [cut for joint in _JOINTS if (cut := _find(words, joint)) > 0]
    return words[: min(cuts)] if cuts else words


def _new_local(held: str, words: list[str]) -> EmailRepair | None:
    local = _characters(words)
    if not local or "@" in local:
        return None
    return _repaired(held, f"{local}@{held.split('@')[1]}", RepairKind.LOCAL)


def _new_domain(held: str, words: list[str]) -> EmailRepair | None:
    words = words[1:] if words[:1] == ["at"] else words
    domain = _characters(words)
    if not domain or "@" in domain:
        return None
    if domain.startswith("."):
        return _new_ending(held, words)
    local, held_domain = held.split("@")
    if "." not in domain:  # "no at hotmail": the ending stays as read back
        labels = held_domain.split(".")
        domain = ".".join([domain, *labels[len(labels) - _ending_size(labels) :]])
    return _repaired(held, f"{local}@{domain}", RepairKind.DOMAIN)


def _new_ending(held: str, words: list[str], old: str = "") -> EmailRepair | None:
    ending = _characters(words).strip(".")
    if _letter(words):  # "it ends with an m": the user name's last letter, not the domain's
        return _replace_at(held, -1, _letter(words))
    if not ending or "@" in ending:
        return None
    local, domain = held.split("@")
    labels = domain.split(".")
    size = _ending_size(labels)
    if old and domain.endswith("." + old) and old.count(".") < len(labels) - 1:
        size = old.count(".") + 1
    return _repaired(held, f"{local}@{'.'.join([*labels[:-size], ending])}", RepairKind.ENDING)


# --- 3. X not Y ---


def _not_form(held: str, body: list[str]) -> EmailRepair | None:
    """Reads "m not n", "not an i its a y", "dot org not dot com", "gmail not gmial"."""
    for joint in _JOINTS:
        cut = _find(body, joint)
        if cut > 0:
            new, old = body[:cut], body[cut + len(joint) :]
            break
        if cut == 0:  # "not an i its a y"
            rest = body[1:]
            said = next((i for i, w in enumerate(rest) if w in ("its", "but", "it")), -1)
            if said <= 0:
                return None
            old = rest[:said]
            new, _ = _strip_phrases(rest[said:], _CORRECTION_IS)
            break
    else:
        return None
    context: list[str] = []
    with_at = _find(new, ("with",))
    if with_at >= 0:
        context, new = new[:with_at], new[with_at + 1 :]
    if not new or not old:
        return None
    if _letter(new) and _letter(old):
        if context:
            return _with_word(held, [*context, "with", *new])
        return _choose(held, _replacements(held, _letter(old), _letter(new), _editable(held)))
    if new[0] == "dot" or old[0] == "dot":
        return _new_ending(held, new, old=_characters(old).strip("."))
    if new[0] == "at":
        return _new_domain(held, new)
    return _replace_word(held, _characters(new), _characters(old))


def _replace_word(held: str, new: str, old: str) -> EmailRepair | None:
    """The held part that is ``old`` (or else the one nearest ``new``) becomes ``new``."""
    if not new or "@" in new:
        return None
    spans = [span for span in _spans(held) if held[span[0] : span[1]] == old]
    if len(spans) == 1:
        start, end = spans[0]
        return _repaired(held, held[:start] + new + held[end:])
    return _fix_word(held, new)


def _spans(held: str) -> list[tuple[int, int]]:
    """Where the parts a caller may name sit: user name runs, the user name, labels, domain."""
    at = held.index("@")
    spans = [m.span() for m in re.finditer(r"[a-z0-9]+", held[:at])]
    spans.append((0, at))
    spans += [(at + 1 + m.start(), at + 1 + m.end()) for m in re.finditer(r"[^.]+", held[at + 1 :])]
    spans.append((at + 1, len(held)))
    return sorted(set(spans))


def _fix_word(held: str, word: str) -> EmailRepair | None:
    """Replace the one held part nearest the caller's ``word`` (a letter or two away)."""
    if not word or "@" in word:
        return None
    spans = _spans(held)
    if any(held[start:end] == word for start, end in spans):
        return None  # already so: nothing to repair
    distances = {span: _distance(held[span[0] : span[1]], word) for span in spans}
    best = min(distances.values())
    # One edit away for a short part, two for a longer one: further off is another word.
    limit = {span: 1 if span[1] - span[0] <= 4 else 2 for span in spans}
    nearest = [span for span, d in distances.items() if d == best <= limit[span]]
    if len(nearest) != 1:
        return None
    start, end = nearest[0]
    return _repaired(held, held[:start] + word + held[end:])


def _distance(a: str, b: str) -> int:
    """Edit distance counting a swap of neighbours as one edit ("gmial" is one from "gmail")."""
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            row[j] = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


# --- 4. letter edits ---


def _editable(held: str, within: tuple[int, int] | None = None) -> list[int]:
    """Indices of characters a letter edit may touch (see the grammar notes above)."""
    if within:
        return [i for i in range(*within) if held[i].isalnum()]
    at = held.index("@")
    labels = held[at + 1 :].split(".")
    keep = len(labels) - _ending_size(labels)
    indices = [i for i in range(at) if held[i].isalnum()]
    start = at + 1
    for n, label in enumerate(labels):
        if n < keep and label not in DOMAIN_WORDS:
            indices += [start + k for k, c in enumerate(label) if c.isalnum()]
        start += len(label) + 1
    return indices


def _replacements(held: str, old: str, new: str, indices: list[int]) -> list[str]:
    return [_substituted(held, i, new) for i in indices if held[i] == old]


def _substituted(held: str, i: int, new: str) -> str:
    """``held`` with the letter at ``i`` replaced by ``new`` ("k not c").

    A caller names the letter of the sound they hear. Before a consonant, "ch" is one sound, /k/
    (chris, chloe, christine): "with a k not a c" replaces the pair, so chris becomes kris, not
    khris. Nowhere else: before a vowel "ch" is mostly /tʃ/ (chad, charles), and at the end of a
    part (zach) the h is the caller's to keep or drop.
    """
    if new == "k" and held[i : i + 2] == "ch" and _is_consonant(held[i + 2 : i + 3]):
        return held[:i] + new + held[i + 2 :]
    return held[:i] + new + held[i + 1 :]


def _is_consonant(character: str) -> bool:
    return len(character) == 1 and character.isascii() and character.isalpha() and (
        character not in _VOWELS)


def _replace_at(held: str, ordinal: int, new: str) -> EmailRepair | None:
    letters = [i for i in range(held.index("@")) if held[i].isalnum()]
    if not -len(letters) <= ordinal < len(letters):
        return None
    i = letters[ordinal]
    return _repaired(held, held[:i] + new + held[i + 1 :])


def _choose(held: str, candidates: list[str]) -> EmailRepair | None:
    """The one candidate, else the one that makes a common name, else None (ambiguous)."""
    candidates = list(dict.fromkeys(c for c in candidates if _valid(c)))
    if len(candidates) > 1:
        held_words = set(re.findall(r"[a-z]+", held))
        candidates = [
            c for c in candidates if (set(re.findall(r"[a-z]+", c)) - held_words) & _COMMON_NAMES
        ]
    return _repaired(held, candidates[0]) if len(candidates) == 1 else None


def _letter_edit(
    held: str, body: list[str], within: tuple[int, int] | None = None
) -> EmailRepair | None:
    """Reads "double l", "theres no e", "theres an h after the o", "the last letter is an m"."""
    indices = _editable(held, within)
    doubled, _ = _strip_phrases(body, _HAS)
    if doubled and doubled[0] in _DOUBLE_WORDS:
        letter = _plural_letter(doubled[1:])
        return _choose(held, _doublings(held, letter, indices)) if letter else None
    rest, opened = _strip_phrases(body, _UNDOUBLE_OPENINGS)
    if opened and _plural_letter(rest):
        letter = _plural_letter(rest)
        runs = [i for i in indices if held[i] == letter and held[i + 1 : i + 2] == letter]
        return _choose(held, [held[:i] + held[i + 1 :] for i in runs])
    rest, opened = _strip_phrases(body, _REMOVE_OPENINGS)
    if opened and _letter(rest):
        letter = _letter(rest)
        removals = [held[:i] + held[i + 1 :] for i in indices if held[i] == letter]
        return _choose(held, removals)
    ordinal = body[1:] if body[:1] == ["the"] else body
    if len(ordinal) >= 3 and ordinal[0] in _ORDINALS and ordinal[1] == "letter":
        rest, _ = _strip_phrases(ordinal[2:], _LETTER_IS)
        return _replace_at(held, _ORDINALS[ordinal[0]], _letter(rest)) if _letter(rest) else None
    rest, opened = _strip_phrases(body, _INSERT_OPENINGS)
    if opened or _find(body, ("after",)) > 0 or _find(body, ("before",)) > 0:
        return _insertion(held, rest if opened else body, indices)
    return None


def _doublings(held: str, letter: str, indices: list[int]) -> list[str]:
    """Each single ``letter`` doubled; none when it is already doubled somewhere ("double s" for
    ross may be the caller confirming the "ss")."""
    if any(held[i] == letter == held[i + 1 : i + 2] for i in indices):
        return []
    return [held[: i + 1] + letter + held[i + 1 :] for i in indices if held[i] == letter]


_PLACE_VERBS = _WORDS.place_verbs


def _insertion(held: str, words: list[str], indices: list[int]) -> EmailRepair | None:
    """Reads "an h after the o", "the h goes before the n", "an h between the o and the n",
    "an h at the end", "the h" (no place said: a common name decides)."""
    while words and words[-1] in _PLACE_VERBS:
        words = words[:-1]
    places: list[int] | None = None
    local_end = held.index("@")
    for ending, place in (
        (("at", "the", "end"), local_end),
        (("on", "the", "end"), local_end),
        (("at", "the", "start"), 0),
        (("at", "the", "beginning"), 0),
    ):
        if tuple(words[-3:]) == ending:
            words, places = words[:-3], [place]
    between, conjunction = _find(words, ("between",)), _find(words, ("and",))
    if 0 < between < conjunction:
        first, second = _letter(words[between + 1 : conjunction]), _letter(words[conjunction + 1 :])
        places = [i + 1 for i in indices if held[i] == first and held[i + 1 : i + 2] == second]
        words = words[:between]
    for joint, offset in (("after", 1), ("before", 0)):
        cut = _find(words, (joint,))
        if cut > 0 and places is None:
            anchor = _letter(words[cut + 1 :])
            places = [i + offset for i in indices if held[i] == anchor] if anchor else []
            words = words[:cut]
    while words and words[-1] in _PLACE_VERBS:
        words = words[:-1]
    letter = _letter(words)
    if not letter:
        return None
    if places is None:
        places = sorted({p for i in indices for p in (i, i + 1)})
    return _choose(held, [held[:p] + letter + held[p:] for p in places])


# --- 5. a word the caller spelled or said ---


def _with_word(held: str, body: list[str]) -> EmailRepair | None:
    """Reads "its john with an h", "smith with two ts": the word, checked against the letter."""
    cut = _find(body, ("with",))
    if cut <= 0:
        return None
    word, instruction = _characters(body[:cut]), body[cut + 1 :]
    if not word or "@" in word:
        return None
    same = [span for span in _spans(held) if held[span[0] : span[1]] == word]
    if same:  # the word is right as held: the instruction edits it
        return _letter_edit(held, instruction, within=same[0])
    named = _named_letter(instruction)
    if not named or named not in word:
        return None  # "john with an x": the word does not hold the letter said
    return _fix_word(held, word)


def _named_letter(words: list[str]) -> str:
    """The letter an instruction names first ("an h", "a y not an i", "two ls", "double t")."""
    if words[:1] and words[0] in _DOUBLE_WORDS:
        words = words[1:]
    for size in (4, 3, 2, 1):
        letter = _letter(words[:size]) if size > 2 else _plural_letter(words[:size])
        if letter:
            return letter
    return ""


# --- an address said across turns --------------------------------------------------------------

_CONNECTORS = _WORDS.connectors
_SEPARATOR_WORDS = _WORDS.separator_words
# A fragment opening like this is the caller starting over, not continuing.
_RESTARTS = _phrases(*_WORDS.restarts)


def is_partial_email(transcript: str) -> bool:
    """Whether the transcript is part of an address and the rest is still to come.

    True for a user name with no "at" ("my email is john dot smith", "john dot", "j o h n"), an
    "at" and domain with no user name ("at gmail dot com"), or a user name and "at" with the domain
    unfinished ("john at", "john at gmail"). False for a complete address, for talk ("hold on",
    "yes", "can you repeat that") and for anything that cannot be part of an address.
    """
    try:
        parse_spoken_email(transcript)
        return False
    except EmailNotUnderstood:
        pass
    raw = [token for token in _tokens(transcript) if token.text not in _FILLERS]
    talk = _strip_talk(raw)
    words = [_SPOKEN_SYMBOLS.get(token.text, token.text) for token in talk]
    while words and words[-1] in _CONNECTORS:
        words = words[:-1]
    if not words or not _strip_phrases(words, _HOLD_TALK)[0] or words.count("at") > 1:
        return False
    if "at" not in words:
        # Plain words are only a user name in a short run, or after "my email is": "i dont know"
        # is not the start of an address.
        evidence = (
            len(words) <= 2
            or len(talk) < len(raw)
            or any(w in _SEPARATOR_WORDS or w.isdigit() for w in words)
            or any(_letter([w]) and w not in ("i", "a") for w in words)
        )
        return evidence and bool(_valid(f"{_characters(words)}@example.com"))
    cut = words.index("at")
    local = _characters(words[:cut]) or "x"
    domain = _characters(words[cut + 1 :])
    return bool(_valid(f"{local}@{domain}") or _valid(f"{local}@{domain}.com"))


def join_spoken_email(fragments: list[str]) -> str:
    """The one address in what the caller said over several turns, oldest fragment first.

    The latest fragment alone wins when it is a complete address ("no its jane at example dot
    com" after a failed try), unless the fragment before it was the start of an address still
    waiting for the rest (is_partial_email) and the latest does not start over ("no", "my email
    is"): then "john" + "smith at example dot com" is johnsmith@example.com. Otherwise the
    latest fragments are joined in order, the last two first, then three, and so on. A fragment
    that opens by spelling the word the previous one ended with ("john smith" + "s m i t h at
    example dot com") spells that word, it does not repeat it: johnsmith@example.com.

    Raises EmailNotUnderstood (with the reason from joining every fragment) when nothing works.
    """
    if not fragments:
        raise EmailNotUnderstood(NOTHING_HEARD)
    latest = fragments[-1]
    joins = [fragments[start:] for start in range(len(fragments) - 2, -1, -1)]
    starts_over = _strip_phrases(_repair_words(latest), _RESTARTS)[1]
    continues = len(fragments) > 1 and is_partial_email(fragments[-2]) and not starts_over
    attempts = [*joins, [latest]] if continues else [[latest], *joins]
    refusal: EmailNotUnderstood | None = None
    for attempt in attempts:
        try:
            return parse_spoken_email(_joined(attempt))
        except EmailNotUnderstood as refused:
            if refusal is None or len(attempt) == len(fragments):
                refusal = refused
    assert refusal is not None
    raise refusal


def _joined(fragments: list[str]) -> str:
    """The fragments as one transcript, a word dropped where the next fragment spells it."""
    words = [fragment.lower().split() for fragment in fragments]
    for previous, following in zip(words, words[1:], strict=False):
        spelled = ""
        for word in following:
            if len(word) != 1 or not word.isalpha():
                break
            spelled += word
        if len(spelled) >= 2 and previous and previous[-1] == spelled:
            previous.pop()
    return " ".join(word for fragment in words for word in fragment)
