"""English words of days, dates and clock times, and how the agent says them."""

from __future__ import annotations

from datetime import time

from caller_language.en.numbers import NUMBERS
from caller_language.en.zones import ZONES
from caller_language.word_tables import TimeWords

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = tuple(
    "january february march april may june july august september october november december".split()
)
_MONTH_ABBREVIATIONS = {m[:3]: i + 1 for i, m in enumerate(MONTHS)} | {"sept": 9}

# fmt: off
# "the first one", "the later one": which of the offers; the last is -1.
_CHOICES = {
    **{word: n - 1 for word, n in NUMBERS.ordinals.items() if n <= 5},
    **{NUMBERS.written_ordinal(n): n - 1 for n in range(1, 6)},
    "earlier": 0, "earliest": 0, "former": 0,
    "last": -1, "latter": -1, "later": -1, "latest": -1, "final": -1,
}
# Words that name a time by themselves; a run of time words is reported only if it has one.
_STRONG = frozenset(
    [*WEEKDAYS, *(f"{d}s" for d in WEEKDAYS), *MONTHS, *_MONTH_ABBREVIATIONS,
     *(word for word, n in NUMBERS.cardinals.items() if 1 <= n <= 59), *NUMBERS.ordinals,
     *"""am pm oclock noon midnight midday morning mornings afternoon afternoons evening evenings
     night tonight today tomorrow lunch lunchtime week weekend weeks earliest soonest asap latest
     later earlier late early hour hours minute minutes mins same day""".split(),
     *ZONES.bare]
)
# Words that join time words into one phrase ("after lunch on friday", "the first one").
_LINK = frozenset(
    """the this that next coming my your at on in of and to from by until till til before after
    between around about past half quarter first last an a available possible thing day days
    time option slot choice end week any same one as bit little slightly sooner following
    european standard daylight""".split()
)
# Fillers, stop-words and the talk around a request: never reported as ignored.
_STOP = frozenset(
    """um uh er erm hmm mm like yeah yep yes no nope ok okay so well oh hey hi hello i im me my
    mine you your youre we us our it its is are was were be been being can could would should
    will wont shall do does did dont doesnt didnt have has had havent how about what whats when
    whens which who maybe perhaps please that thats this these those there theres here the a an
    and or but if then than for with to of in on at by from just really actually kind sort mean
    know think guess want wanna need let lets see fine good great sure works work working sounds
    sound perfect better best okay alright right thanks thank something anything anytime
    instead also too again either any some not cant cannot isnt arent also rather prefer would
    id ill ive get go going gonna take book schedule meet meeting call set up one more still
    free open have got as ll d s t ve re m""".split()
)
# fmt: on

TIMES = TimeWords(
    weekdays=WEEKDAYS,
    months=MONTHS,
    month_abbreviations=_MONTH_ABBREVIATIONS,
    parts={
        "morning": (time(8), time(12)),
        "lunchtime": (time(12), time(13)),
        "afternoon": (time(12), time(17)),
        "evening": (time(17), time(20)),
    },
    choice_ordinals=_CHOICES,
    strong_words=_STRONG,
    link_words=_LINK,
    edge_words=frozenset("at on in of and to from any by about as".split()),
    determiners=frozenset({"the", "this", "my", "your", "a", "an"}),
    stop_words=_STOP,
    today="today",
    tomorrow="tomorrow",
    noon="noon",
    midnight="midnight",
    meridiems=("AM", "PM"),
)
