"""What a caller's utterance means for the dialogue: yes, no, goodbye, refusal, "later", moves.

Pure text rules, no I/O. One utterance can carry several signals ("No, that's all. Thanks!" is
a no *and* a goodbye; "no, it's m a double t at example dot com" is a no plus a correction), so
:func:`read` returns every signal found and the dialogue decides which one matters at its step.
E-mail addresses, zones and times are parsed by their own modules (caller_language.email,
caller_language.timezones, caller_language.time_phrases).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


def _words(*phrases: str) -> re.Pattern[str]:
    # Each phrase matches on word boundaries; spaces inside a phrase allow any run of spaces.
    body = "|".join(p.replace(" ", r"\s+") for p in phrases)
    return re.compile(rf"\b(?:{body})\b")


_NEGATIVE = _words(
    "no", "nope", "nah", "not really", "no thanks", "no thank you", "negative", "not quite",
    "wrong", "incorrect", "not right", "that's not right", "that's not it", "not correct",
    "doesn't work", "does not work", "won't work", "will not work", "can't make it",
    "cannot make it", "can't do", "cannot do", "don't think so", "i'd rather not",
    "rather not", "not that", "not good", "no good", "not for me", "i can't", "i cannot",
    "not now", "i'm busy", "i am busy", "don't want", "do not want", "no time",
)
_AFFIRMATIVE = _words(
    "yes", "yeah", "yea", "yep", "yup", "sure", "ok", "okay", "sounds good", "sounds great",
    "that works", "works for me", "that's right", "that is right", "right", "correct",
    "exactly", "perfect", "great", "absolutely", "definitely", "of course", "please do",
    "go ahead", "book it", "let's do it", "let's do that", "fine", "alright", "all right",
    "that's fine", "good", "uh huh", "mm hmm", "i'd like that", "i would like that",
    "why not", "i'm in", "do it", "that'll work", "that will work", "certainly",
)
# Only the unmistakable ones: "I don't want Tuesday" is a no to Tuesday, not to the call.
_REFUSAL = _words(
    "not interested", "no interest", "don't call", "do not call", "stop calling",
    "take me off", "remove me", "leave me alone",
)
_GOODBYE = _words(
    "bye", "goodbye", "good bye", "bye bye", "have a good day", "have a nice day",
    "talk to you later", "see you", "take care", "that's all", "that is all",
    "that's it", "that is it", "nothing else", "i'm good", "i'm all set", "all set",
    "we're done", "i'm done", "hang up",
)
# A goodbye that ends the call whatever was asked (unlike "that's it", which may be a yes).
_FAREWELL = _words(
    "bye", "goodbye", "good bye", "bye bye", "have a good day", "have a nice day",
    "talk to you later", "take care", "hang up", "i have to go", "i've got to go", "gotta go",
)
_WHO = _words(
    "who is this", "who's this", "who are you", "who's calling", "who is calling",
    "what is this about", "what's this about", "what is this regarding", "what's this regarding",
    "what company", "why are you calling",
)
_LATER = _words(
    "later", "something later", "anything later", "after that", "a bit later",
    "later on", "next one", "another time", "another one", "different time",
    "other times", "other options", "something else", "anything else available",
)
_EARLIER = _words("earlier", "sooner", "before that", "anything earlier", "something earlier")
_RESCHEDULE = _words(
    "reschedule", "move it", "move the meeting", "move that", "make it", "change it",
    "change the time", "switch it", "push it", "instead", "different day", "rather have",
    "can we do",
)
_CANCEL = _words("cancel", "call it off", "scrap it", "drop the meeting")
_KEEP = _words(
    "keep it", "keep the original", "leave it", "never mind", "nevermind", "as is",
    "stick with", "the original", "it's fine as it is", "keep that",
)
_THANKS = _words("thanks", "thank you", "cheers")


def normalize(text: str) -> str:
    """Lower case, curly quotes straightened, punctuation other than ' @ . - spaced out."""
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    text = re.sub(r"[^\w'@.\- ]+", " ", text)
    return " ".join(text.split())


@dataclass(frozen=True, slots=True)
class Reading:
    """The signals one utterance carries; several may be true at once."""

    text: str
    yes: bool
    no: bool
    refusal: bool
    goodbye: bool
    farewell: bool
    who: bool
    later: bool
    earlier: bool
    reschedule: bool
    cancel: bool
    keep: bool
    thanks: bool

    @property
    def plain_yes(self) -> bool:
        """Agreement without a "no" anywhere in it ("yes, that's right")."""
        return self.yes and not self.no

    @property
    def plain_no(self) -> bool:
        """Disagreement without a "yes" in it ("nope", "not really")."""
        return self.no and not self.yes


def read(text: str) -> Reading:
    """Every dialogue signal in ``text`` (see :class:`Reading`)."""
    norm = normalize(text)
    no = bool(_NEGATIVE.search(norm))
    # "not right", "doesn't work", "no good" contain affirmative words: drop the negated span
    # before looking for a yes, so "that's not right" is not also a yes.
    affirm_text = _NEGATIVE.sub(" ", norm)
    yes = bool(_AFFIRMATIVE.search(affirm_text))
    refusal = bool(_REFUSAL.search(norm))
    later = bool(_LATER.search(norm))
    return Reading(
        text=text,
        yes=yes and not refusal,
        no=no or refusal,
        refusal=refusal,
        goodbye=bool(_GOODBYE.search(norm)) or bool(_FAREWELL.search(norm)),
        farewell=bool(_FAREWELL.search(norm)),
        who=bool(_WHO.search(norm)),
        later=later and "talk to you later" not in norm,
        earlier=bool(_EARLIER.search(norm)),
        reschedule=bool(_RESCHEDULE.search(norm)),
        cancel=bool(_CANCEL.search(norm)),
        keep=bool(_KEEP.search(norm)),
        thanks=bool(_THANKS.search(norm)),
    )
