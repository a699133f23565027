"""English letters as said: the spelling (NATO) alphabet and letter names, written once."""

from __future__ import annotations

from caller_language.word_tables import Alphabet

ALPHABET = Alphabet(
    # The words the agent says when it spells a letter ("J as in Juliet"), in display form.
    nato_by_letter={
        "a": "Alpha", "b": "Bravo", "c": "Charlie", "d": "Delta", "e": "Echo", "f": "Foxtrot",
        "g": "Golf", "h": "Hotel", "i": "India", "j": "Juliet", "k": "Kilo", "l": "Lima",
        "m": "Mike", "n": "November", "o": "Oscar", "p": "Papa", "q": "Quebec", "r": "Romeo",
        "s": "Sierra", "t": "Tango", "u": "Uniform", "v": "Victor", "w": "Whiskey", "x": "X-ray",
        "y": "Yankee", "z": "Zulu",
    },
    # The ICAO spellings and how recognisers print "X-ray".
    nato_spellings={"alfa": "a", "juliett": "j", "whisky": "w", "xray": "x"},
    # How recognisers print a spoken letter name ("jay" for J). Only taken as a letter next to
    # other spelled letters, so a lone "jay" or "kay" stays a name.
    letter_names={
        "bee": "b", "cee": "c", "dee": "d", "eff": "f", "gee": "g", "aitch": "h", "jay": "j",
        "kay": "k", "ell": "l", "el": "l", "em": "m", "en": "n", "oh": "o", "pee": "p",
        "cue": "q", "ar": "r", "ess": "s", "tee": "t", "vee": "v", "ex": "x", "wye": "y",
        "zed": "z", "zee": "z",
        # Homophones recognisers print for letters ("s m eye"); letters only next to letters.
        "eye": "i", "see": "c", "sea": "c", "queue": "q", "are": "r", "you": "u", "why": "y",
    },
)  # fmt: skip
