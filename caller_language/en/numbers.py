"""English number words, written once: spelled addresses, clock times and read-backs use them."""

from __future__ import annotations

from caller_language.word_tables import NumberWords

# fmt: off
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
TEENS = (
    "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
    "eighteen", "nineteen",
)
TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_FIRST_ORDINALS = (
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
    "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
    "eighteenth", "nineteenth",
)
_TENTHS = ("twentieth", "thirtieth")
# fmt: on


def _cardinals() -> dict[str, int]:
    """0-99 as said: "seven", "fifteen", "forty", "forty five"."""
    said = {word: value for value, word in enumerate((*DIGITS, *TEENS))}
    for index, tens in enumerate(TENS):
        said[tens] = 20 + 10 * index
        for unit in range(1, 10):
            said[f"{tens} {DIGITS[unit]}"] = 20 + 10 * index + unit
    return said


def _ordinals() -> dict[str, int]:
    """1-31 as said: "third", "twentieth", "twenty first", "thirty first"."""
    said = {word: value for value, word in enumerate(_FIRST_ORDINALS, start=1)}
    for index, word in enumerate(_TENTHS):
        said[word] = 20 + 10 * index
    for value in range(21, 32):
        if value % 10:
            said[f"{TENS[value // 10 - 2]} {_FIRST_ORDINALS[value % 10 - 1]}"] = value
    return said


def written_ordinal(number: int) -> str:
    """``number`` as a written ordinal: 1 -> "1st", 12 -> "12th", 23 -> "23rd"."""
    teens = 10 <= number % 100 <= 20
    suffix = "th" if teens else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


NUMBERS = NumberWords(
    digits=DIGITS,
    teens=TEENS,
    tens=TENS,
    hundred="hundred",
    thousand="thousand",
    oh="oh",
    cardinals=_cardinals(),
    ordinals=_ordinals(),
    written_ordinal=written_ordinal,
)
