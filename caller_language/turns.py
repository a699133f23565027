"""What one caller turn means, in language-free types: what was asked, what the caller did.

The reader (:func:`caller_language.understanding.read_turn`) fills a :class:`Turn` from the
caller's words and the question on the table (:class:`Expecting`); the words of one language
live in a :class:`Vocabulary` (English: :data:`caller_language.en.ENGLISH`), with the tables of
the other readers (numbers, letters, e-mail, times, zones). A second language is a new package
instantiating :class:`Vocabulary`, not edits to the readers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from caller_language.word_tables import (
    Alphabet,
    EmailWords,
    NumberWords,
    SpeechPhrases,
    TimeWords,
    ZoneWords,
)


class Expecting(StrEnum):
    """What the agent's last line asked, which decides what a bare "yes" or "no" answers."""

    OPENER = "opener"  # the open question after the greeting ("is now a good time?")
    MEETING = "meeting"  # would you like to set up a meeting?
    EMAIL = "email"  # what is your e-mail address?
    EMAIL_CONFIRM = "email_confirm"  # is this read-back right?
    ZONE = "zone"  # which time zone are you in?
    SLOT = "slot"  # does this time work?
    MOVE = "move"  # a new time for an existing booking: does this one work?
    ANYTHING_ELSE = "anything_else"  # is there anything else?


class Intent(StrEnum):
    """What the caller did with their turn (one per turn; see the reader for precedence)."""

    AFFIRM = "affirm"  # a plain yes; may carry ``change`` (e.g. "yes tuesday suits me")
    DENY = "deny"  # a no, maybe with a counter-proposal in ``change``
    AFFIRM_WITH_CHANGE = "affirm_with_change"  # "yes but later in the day": not consent
    HOLD = "hold"  # "give me a second", "let me check"
    CALL_BACK = "call_back"  # "call me tomorrow afternoon", "not a good time"
    QUESTION = "question"  # see ``Turn.question``
    DO_NOT_CALL = "do_not_call"  # "take me off your list"
    REPEAT = "repeat"  # "sorry what", "come again"
    GOODBYE = "goodbye"  # "thats all thanks bye", "im good thanks" (after "anything else?")
    NOT_INTERESTED = "not_interested"  # "not interested", "no thanks were all set"
    INFO = "info"  # content without a yes or no: an address, a zone, a time, a name
    UNCLEAR = "unclear"  # "hmm", "i dont know", a hedged yes ("yeah maybe")


class Question(StrEnum):
    """The kind of question a caller asked."""

    WHO = "who"  # who is this / whos calling
    WHY = "why"  # why are you calling / what is this about
    SALES = "sales"  # is this a sales call
    LENGTH = "length"  # how long is the meeting
    TIME_AGAIN = "time_again"  # what was the time again / which day was that
    MY_TIME = "my_time"  # what time is that for me
    NUMBER_SOURCE = "number_source"  # how did you get my number
    COST = "cost"  # what does it cost / is it free
    ROBOT = "robot"  # am i talking to a robot
    WHAT_NEXT = "what_next"  # what happens next / tell me more: interest
    TIMES = "times"  # what times do you have / when are you free: asks for the free times
    OTHER = "other"  # a question-shaped turn not in this list


@dataclass(frozen=True, slots=True)
class Turn:
    """One caller turn, read in the context of what the agent asked.

    ``change`` is the rest of the sentence after the yes or no ("no tuesday suits me better" ->
    "tuesday suits me better"); with no yes or no it is the whole counter-proposal ("how about
    thursday"). It may accompany a plain AFFIRM ("yes tuesday suits me"): only the dialogue
    knows whether Tuesday is what it offered, so it must compare before booking.
    ``call_back_when`` is the time phrase as said ("tomorrow afternoon"), None when the caller
    gave none or only a vague "later" (the dialogue should ask when).
    ``later``/``earlier``/``keep``/``cancel``/``reschedule`` are about the meeting time (never set
    on a CALL_BACK); ``thanks`` is courtesy; ``farewell`` is an unmistakable goodbye ("bye",
    "have a good one") that ends the call whatever was asked, even after a yes.
    """

    text: str
    intent: Intent
    question: Question | None = None  # set only when intent is QUESTION
    call_back_when: str | None = None  # set only when intent is CALL_BACK
    change: str | None = None
    later: bool = False
    earlier: bool = False
    keep: bool = False
    cancel: bool = False
    reschedule: bool = False
    thanks: bool = False
    farewell: bool = False

    @property
    def consents(self) -> bool:
        """Only a plain affirmation is consent (AFFIRM_WITH_CHANGE is not)."""
        return self.intent is Intent.AFFIRM


@dataclass(frozen=True, eq=False)
class Vocabulary:
    """Every word list of one language: the turn reader's phrases and the other readers' tables.

    Each entry is a phrase written as the reader sees the text after normalising: lower case,
    apostrophes dropped ("thats", "dont"), other punctuation turned into single spaces. A phrase
    is a regular-expression fragment: ``(a|b)`` alternates, ``?`` makes optional, lookarounds and
    ``^``/``$`` (start/end of the turn) are allowed; ``(`` groups are made non-capturing.
    Phrases match on word boundaries; where two overlap, the leftmost, then longest, wins, so a
    longer phrase shadows the words inside it ("right now" is not "right").
    ``eq=False``: a vocabulary is hashed by identity, so its compiled patterns are cached once.
    """

    fillers: tuple[str, ...]  # dropped anywhere: "um", "uh", "you know"
    leading_fillers: tuple[str, ...]  # dropped at the start: "well", "so", "ok so"
    affirm: tuple[str, ...]  # a yes: "yeah", "that works", "no problem"
    polite: tuple[str, ...]  # a yes that does not undo a no before it: "no thats fine"
    acknowledgements: tuple[str, ...]  # a yes too weak to outlast a farewell: "ok bye"
    deny: tuple[str, ...]  # a no: "nope", "that doesnt work", "yeah no" is read from the order
    negators: tuple[str, ...]  # "dont", "cant", "not": a negator before a negatable is a no
    verb_negators: tuple[str, ...]  # the negators that are a verb said negatively: "doesnt"
    negatable: tuple[str, ...]  # "work", "suit", "make it": "that doesnt really work"
    neutral: tuple[str, ...]  # shadow yes-words that are not a yes: "right now", "good morning"
    greeting: tuple[str, ...]  # "hello", "how are you": small talk, no content
    small_talk: tuple[str, ...]  # "im fine thanks": an answer to "how are you", not consent
    thats_it: tuple[str, ...]  # a yes to a read-back, a closing after "anything else?"
    closing: tuple[str, ...]  # "thats all", "nothing else", "were all set"
    farewell: tuple[str, ...]  # "bye", "have a good one": ends the call whatever was asked
    thanks: tuple[str, ...]
    hold: tuple[str, ...]  # "hang on", "let me check my calendar"
    call_back: tuple[str, ...]  # "call me back", "im driving", "not a good time"
    call_back_when_asked_now: tuple[str, ...]  # "not right now": a call-back at the opener
    do_not_call: tuple[str, ...]
    not_interested: tuple[str, ...]
    repeat: tuple[str, ...]  # "sorry what", "come again"
    hedge: tuple[str, ...]  # "maybe", "i dont know": never consent
    proposal: tuple[str, ...]  # a counter-proposal: "how about", "can we do", "anything later"
    contrast: tuple[str, ...]  # after a yes, makes it a yes with a change: "but", "instead"
    connectors: tuple[str, ...]  # dropped at the start of ``change``: "but", "and", "actually"
    glue: tuple[str, ...]  # words that may sit between two yes/no words of one answer
    noise: tuple[str, ...]  # words that carry no content on their own: "i", "the", "oh"
    questions: Mapping[Question, tuple[str, ...]]  # every kind but OTHER
    question_leads: tuple[str, ...]  # words that may come before a question's first word
    question_starts: tuple[str, ...]  # a question's shape: wh-word, aux + pronoun
    when: tuple[str, ...]  # a call-back time: "tomorrow afternoon", "in an hour"
    later: tuple[str, ...]
    earlier: tuple[str, ...]
    keep: tuple[str, ...]
    cancel: tuple[str, ...]
    reschedule: tuple[str, ...]
    numbers: NumberWords
    alphabet: Alphabet
    email: EmailWords
    times: TimeWords
    zones: ZoneWords
    speech: SpeechPhrases
