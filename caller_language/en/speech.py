"""English phrases a booking call expects, for an offline recogniser's language model.

Letters, NATO words, number words and weekdays come from the other tables of the language.
"""

from __future__ import annotations

from caller_language.en.numbers import NUMBERS
from caller_language.word_tables import SpeechPhrases

# fmt: off
SPEECH = SpeechPhrases(
    yes_no=(
        "yes", "yes please", "yeah", "yep", "sure", "yes that works", "that works",
        "yes that is correct", "that is correct", "correct", "yes that is right", "that is right",
        "no", "no thanks", "no thank you", "nope", "not now", "no that is wrong", "that is wrong",
        "no thanks goodbye", "goodbye", "bye", "thank you goodbye", "okay", "sounds good",
        "i am not interested", "call me later", "can you repeat that", "sorry what",
    ),
    relative_days=("today", "tomorrow", "next week", "this week"),
    example_hours=tuple(word for word, n in NUMBERS.cardinals.items() if n in (2, 3, 10)),
    times=(
        "in the morning", "in the afternoon", "morning", "afternoon", "noon", "at noon",
        "the first one", "the second one", "the third one", "the first", "the second",
        "the earlier one", "the later one", "another time", "something else",
    ),
    email=(
        "at", "dot", "com", "dot com", "dot org", "dot net", "gmail dot com",
        "example dot com", "my email is", "it is", "underscore", "dash", "period",
    ),
    # Addresses are mostly first names at common domains: a few of each give the model the
    # shape "NAME at DOMAIN dot com"; the caller's own name is added per call when known.
    first_names=(
        "james", "john", "robert", "michael", "william", "david", "richard", "joseph", "thomas",
        "charles", "mary", "patricia", "jennifer", "linda", "elizabeth", "barbara", "susan",
        "jessica", "sarah", "karen", "anna", "maria", "emma", "olivia", "sophia", "mark", "paul",
        "peter", "george", "daniel", "matthew",
    ),
    domains=("example", "gmail", "yahoo", "outlook", "hotmail", "icloud", "company"),
    booking=(
        "i would like to book a meeting", "i would like to book", "book it", "book that",
        "can we move it", "can we move it to", "i want to change the time", "reschedule",
        "i can not make it", "what times do you have", "what else do you have",
    ),
)
# fmt: on
