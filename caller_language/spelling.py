"""Spoken-spelling vocabulary: NATO words, letter names, number words and domain words.

Views of the language's tables (:data:`caller_language.en.ENGLISH`) in the shapes
:mod:`caller_language.email` reads: what a speech recogniser prints turned into characters, and
an address read back. Every word here is lower case.
"""

from __future__ import annotations

from caller_language.en import ENGLISH

_NUMBERS = ENGLISH.numbers

# The words the agent says when it spells a letter ("J as in Juliet"), in display form.
NATO_BY_LETTER: dict[str, str] = dict(ENGLISH.alphabet.nato_by_letter)
# What a caller or a recogniser may print for a NATO word, including the ICAO spellings.
NATO_WORDS: dict[str, str] = ENGLISH.alphabet.nato_words
# Letter names ("jay"): only taken as a letter next to other spelled letters.
LETTER_NAMES: dict[str, str] = dict(ENGLISH.alphabet.letter_names)

DIGIT_WORDS: tuple[str, ...] = _NUMBERS.digits
UNITS: dict[str, int] = {word: value for value, word in enumerate(DIGIT_WORDS) if value}
TEENS: dict[str, int] = {word: 10 + value for value, word in enumerate(_NUMBERS.teens)}
TENS: dict[str, int] = {word: 20 + 10 * value for value, word in enumerate(_NUMBERS.tens)}
NUMBER_WORDS: frozenset[str] = frozenset(
    {DIGIT_WORDS[0], _NUMBERS.hundred, _NUMBERS.thousand, *UNITS, *TEENS, *TENS}
)

# How the agent says a symbol of an address ("dot", "underscore").
SYMBOL_NAMES: dict[str, str] = dict(ENGLISH.email.spoken_symbols)
# Domain labels said as words in a read-back. Anything else is spelled.
DOMAIN_WORDS: frozenset[str] = ENGLISH.email.domain_words
# Labels said as capital letters ("dot co dot UK") so a text-to-speech voice spells them.
INITIALISMS: frozenset[str] = ENGLISH.email.initialisms
