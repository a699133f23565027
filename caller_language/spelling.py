"""Spoken-spelling vocabulary: NATO words, letter names, number words and domain words.

Pure data used by :mod:`caller_language.email` to turn what a speech recogniser prints into
characters and to read an address back. Every word here is lower case.
"""

from __future__ import annotations

# The words the agent says when it spells a letter ("J as in Juliet"), in display form.
NATO_BY_LETTER: dict[str, str] = {
    "a": "Alpha", "b": "Bravo", "c": "Charlie", "d": "Delta", "e": "Echo", "f": "Foxtrot",
    "g": "Golf", "h": "Hotel", "i": "India", "j": "Juliet", "k": "Kilo", "l": "Lima",
    "m": "Mike", "n": "November", "o": "Oscar", "p": "Papa", "q": "Quebec", "r": "Romeo",
    "s": "Sierra", "t": "Tango", "u": "Uniform", "v": "Victor", "w": "Whiskey", "x": "X-ray",
    "y": "Yankee", "z": "Zulu",
}  # fmt: skip

# What a caller or a recogniser may print for a NATO word, including the ICAO spellings.
NATO_WORDS: dict[str, str] = {
    **{word.lower(): letter for letter, word in NATO_BY_LETTER.items()},
    "alfa": "a", "juliett": "j", "whisky": "w", "xray": "x",
}  # fmt: skip

# How recognisers print a spoken letter name ("jay" for J). Only taken as a letter next to other
# spelled letters, so a lone "jay" or "kay" stays a name.
LETTER_NAMES: dict[str, str] = {
    "bee": "b", "cee": "c", "dee": "d", "eff": "f", "gee": "g", "aitch": "h", "jay": "j",
    "kay": "k", "ell": "l", "el": "l", "em": "m", "en": "n", "oh": "o", "pee": "p", "cue": "q",
    "ar": "r", "ess": "s", "tee": "t", "vee": "v", "ex": "x", "wye": "y", "zed": "z", "zee": "z",
    # Homophones recognisers print for letters ("s m eye"); letters only next to other letters.
    "eye": "i", "see": "c", "sea": "c", "queue": "q", "are": "r", "you": "u", "why": "y",
}  # fmt: skip

DIGIT_WORDS: tuple[str, ...] = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
)  # fmt: skip
UNITS: dict[str, int] = {word: value for value, word in enumerate(DIGIT_WORDS) if value}
TEENS: dict[str, int] = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
TENS: dict[str, int] = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
NUMBER_WORDS: frozenset[str] = frozenset({"zero", "hundred", "thousand", *UNITS, *TEENS, *TENS})

SYMBOL_NAMES: dict[str, str] = {".": "dot", "_": "underscore", "-": "dash", "+": "plus"}

# Domain labels said as words in a read-back. Anything else is spelled. None of these may be a
# word the parser gives another meaning (tested), and each has a vowel: a consonant-only label
# is spelled even if it is a brand ("gmx", "msn").
DOMAIN_WORDS: frozenset[str] = frozenset(
    """
    gmail googlemail google yahoo ymail rocketmail outlook hotmail live icloud me mac aol proton
    protonmail zoho yandex mail inbox fastmail tutanota tuta hey comcast verizon cox charter
    earthlink juno netzero optonline frontier windstream centurylink bellsouth shaw rogers telus
    sympatico bigpond optusnet virgin virginmedia sky talktalk orange free laposte wanadoo web
    online telstra xtra btinternet example company business office corp group team global tech
    digital solutions services consulting design studio media labs lab health law bank school
    university college academy institute foundation agency partners ventures holdings industries
    systems software network networks data cloud app apps dev email hello contact info support
    sales admin news shop store home family house world international national city county state
    gov edu mil com net org biz co uk io us ca au de fr nl es ie eu ai
    about acme air alliance america american apple art arts auto avenue bay beach best better
    blue board book books box brand bridge bright build builders care career cars center centre
    central church civic clean clear click client club coast code coffee collective community
    connect core council country craft creative credit crew daily deal dental direct district
    doctor dream drive earth east easy eco edge education electric energy engineering enterprise
    enterprises equity events expert express factory farm fast field film finance financial first
    fitness flow food forest forward fresh friends front fund future game games garden gold good
    great green grid growth guide harbor harbour heart help hill hub idea ideas image impact
    industry insight insurance investments jobs journal key kids king lake land launch learn
    legal life light line link local logic loop love main maker management market marketing
    medical metro mind mobile money motion mountain move music nation nature new next north ocean
    open orbit organic park partner path pay peak people pixel place planet plan pro project
    property pulse quest radio real realty record research resource resources river road rock
    root royal safe science secure security service signal simple smart social solar solution
    sound source south space spark sport sports spring square star start station stone strategy
    street summit sun supply talent tax teach technology technologies test time today tool tools
    top tour town trade training travel tree true trust union unit united urban valley venture
    vision voice water wave way wealth west wild wind wise wood work works yoga zone
    """.split()
)

# Labels said as capital letters ("dot co dot UK") so a text-to-speech voice spells them.
INITIALISMS: frozenset[str] = frozenset(
    {"uk", "io", "us", "ca", "au", "de", "fr", "nl", "es", "ie", "eu", "ai", "edu"}
)
