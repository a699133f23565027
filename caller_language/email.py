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
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

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

_SYMBOL_WORDS: dict[tuple[str, ...], str] = {
    ("at", "the", "rate", "of"): "@", ("at", "the", "rate"): "@", ("at", "sign"): "@",
    ("at", "symbol"): "@", ("at",): "@", ("dot",): ".", ("period",): ".", ("point",): ".",
    ("full", "stop"): ".", ("underscore",): "_", ("under", "score"): "_", ("underbar",): "_",
    ("under", "bar"): "_", ("dash",): "-", ("hyphen",): "-", ("minus",): "-", ("plus",): "+",
    ("plus", "sign"): "+",
}  # fmt: skip
# Phrases that stand for one other token.
_PHRASES: dict[tuple[str, ...], str] = {
    ("double", "u"): "w", ("double", "you"): "w", ("double-u",): "w", ("x", "ray"): "xray",
    ("upper", "case"): "uppercase", ("lower", "case"): "lowercase", ("the", "letter"): "letter",
}  # fmt: skip
# Words before a letter that say how it is written; they force a NATO word or name to a letter.
_CASE_WORDS = frozenset({"capital", "small", "big", "uppercase", "lowercase", "letter"})
_REPEATS = {"double": 2, "triple": 3}
_FILLERS = frozenset({"uh", "um", "umm", "uhm", "er", "erm", "ah", "hmm", "mm", "mhm"})
_FILLER_PHRASES: tuple[tuple[str, ...], ...] = (
    ("all", "one", "word"), ("as", "one", "word"), ("all", "lower", "case"),
    ("all", "lowercase"), ("all", "small", "letters"), ("no", "spaces"),
)  # fmt: skip
_LEAD_INS: tuple[tuple[str, ...], ...] = tuple(
    tuple(phrase.split())
    for phrase in (
        "my email address is", "my email is", "my address is", "my email", "the email address is",
        "the email is", "the address is", "email address is", "email is", "email address",
        "email", "its", "it is", "thats", "that is", "that would be", "thatd be", "it would be",
        "itd be", "you can reach me at", "reach me at", "you can email me at", "email me at",
        "you can send it to", "send it to", "send the invite to", "sure", "yes", "yeah", "yep",
        "ok", "okay", "so", "well", "oh", "right", "alright", "of course", "no", "sorry",
        "actually", "i said",
    )
)  # fmt: skip
# Lead-ins that also mark where the address starts mid-sentence ("... and my email is ...").
_MARKERS: tuple[tuple[str, ...], ...] = (
    *(phrase for phrase in _LEAD_INS if len(phrase) > 1 and phrase != ("of", "course")),
    ("its",),
    ("thats",),
)
_TAILS: tuple[tuple[str, ...], ...] = tuple(
    tuple(phrase.split())
    for phrase in (
        "thanks", "thank you", "thanks a lot", "thank you very much", "thats it", "that is it",
        "thats all", "thats right", "please", "cheers", "bye", "did you get that", "got it",
        "okay", "ok",
    )
)  # fmt: skip

# Words the parser gives a meaning to anywhere but the start: never said as a domain word.
RESERVED_WORDS: frozenset[str] = frozenset(
    {word for phrase in (*_SYMBOL_WORDS, *_PHRASES, *_FILLER_PHRASES, *_TAILS) for word in phrase}
    | set(NATO_WORDS) | set(LETTER_NAMES) | NUMBER_WORDS | _CASE_WORDS | set(_REPEATS)
    | _FILLERS | {"as", "in", "for", "and", "x-ray"}
)  # fmt: skip

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


_KNOWN_HYPHENATED = frozenset({"x-ray", "double-u"})


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
        return word in UNITS or word == "zero" or (word.isascii() and word.isdigit())

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
        if word in UNITS or word == "zero":
            self.emit(str(DIGIT_WORDS.index(word)) * times)
            return i + 1
        raise EmailNotUnderstood(REPEAT_WITHOUT_LETTER)

    def number(self, i: int) -> int:
        """A spoken number from ``i`` ("twenty three", "one hundred and five") as digits."""
        if self.word(i) == "zero":
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
    said_domain, previous_spelled = "", False
    for index, label in enumerate(domain.split(".")):
        said, spelled = _say_label(label)
        if index:
            said_domain += ", dot " if previous_spelled else " dot "
        said_domain += said
        previous_spelled = spelled
    return f"{_spell(local)}, at {said_domain}"


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
