"""The one reader of a caller's turn: what they did with it, given what the agent asked.

Pure text rules, no I/O. :func:`read_turn` normalises the recogniser's line (lower case, no
apostrophes or punctuation, fillers dropped), finds every known phrase of the
:class:`~caller_language.turns.Vocabulary` in it (leftmost, then longest, wins: "right now" is not
"right", "not right now" is not "not right"), then decides one :class:`Intent` by precedence:

    DO_NOT_CALL > CALL_BACK > NOT_INTERESTED > HOLD > QUESTION (a known kind) > REPEAT
    > QUESTION (question-shaped) > GOODBYE > AFFIRM / DENY / AFFIRM_WITH_CHANGE > INFO > UNCLEAR

so a hold, a call-back request or a question anywhere in the turn is never consent ("yes hold on
let me check" is HOLD; "yes but how long is it" is a LENGTH question).

The yes or no is the answer only if it comes early (within the first few words); when several
yes/no words run together the last one wins ("yeah no" is a no, "no no thats right" a yes),
except that a polite "thats fine"/"no problem" does not undo a no ("no thats fine" is a no). After
"anything else?" a no, a closing ("thats all", "im good") or a farewell all mean the caller is
done: the dialogue should close the call on DENY as on GOODBYE there. Before a booking (OPENER,
MEETING) a GOODBYE means the meeting was declined.

E-mail addresses, zones and times are parsed by their own modules (caller_language.email,
caller_language.timezones, caller_language.time_phrases); ``Turn.change`` and
``Turn.call_back_when`` hand them the caller's words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum, auto
from functools import lru_cache

from caller_language.en import ENGLISH
from caller_language.turns import Expecting, Intent, Question, Turn, Vocabulary

__all__ = ["Expecting", "Intent", "Question", "Reading", "Turn", "read", "read_turn"]


class _Kind(Enum):
    """What a matched phrase is, before the context decides what it means."""

    DO_NOT_CALL = auto()
    CALL_BACK = auto()
    CALL_BACK_IF_NOW = auto()  # a call-back at OPENER/MEETING, a no elsewhere
    NOT_INTERESTED = auto()
    HOLD = auto()
    REPEAT = auto()
    FAREWELL = auto()
    CLOSING = auto()
    THATS_IT = auto()  # a yes to a read-back or an offer, a closing elsewhere
    SMALL_TALK = auto()
    PROPOSAL = auto()
    DENY = auto()
    POLITE = auto()
    AFFIRM = auto()
    HEDGE = auto()
    NEUTRAL = auto()
    GREETING = auto()
    THANKS = auto()
    QUESTION_SHAPE = auto()


_Label = _Kind | Question

# Where "not right now" / "later" asks for a call back rather than declining one offer.
_ASKED_NOW = frozenset({Expecting.OPENER, Expecting.MEETING})
# Where "thats it" confirms what the agent just said.
_CONFIRMING = frozenset(
    {Expecting.EMAIL_CONFIRM, Expecting.SLOT, Expecting.MOVE, Expecting.EMAIL, Expecting.ZONE}
)
_OFFERS = frozenset({Expecting.SLOT, Expecting.MOVE})
# Where the content is the answer: "yeah its central" is the zone, not a yes.
_CONTENT_ASKED = frozenset({Expecting.EMAIL, Expecting.ZONE})
_OFFERING = frozenset({Expecting.SLOT, Expecting.MOVE})
# A yes or no further into the turn than this many words is not the answer to the question.
_ANSWER_WITHIN_WORDS = 4


@dataclass(frozen=True, slots=True)
class _Span:
    start: int
    end: int
    label: _Label


@dataclass(frozen=True, slots=True)
class _Patterns:
    """One vocabulary compiled once (see :func:`_compiled`)."""

    fillers: re.Pattern[str]
    thanks: re.Pattern[str]
    leading: re.Pattern[str]
    # (label, 0 for the first tier else 1, pattern), in tie-break priority order
    labelled: tuple[tuple[_Label, int, re.Pattern[str]], ...]
    when: re.Pattern[str]
    contrast: re.Pattern[str]
    connectors: re.Pattern[str]
    later: re.Pattern[str]
    earlier: re.Pattern[str]
    keep: re.Pattern[str]
    cancel: re.Pattern[str]
    reschedule: re.Pattern[str]
    acknowledgement: re.Pattern[str]
    question_leads: frozenset[str]
    glue: frozenset[str]
    noise: frozenset[str]


def _non_capturing(phrase: str) -> str:
    return re.sub(r"\((?!\?)", "(?:", phrase)


def _alternation(phrases: tuple[str, ...]) -> str:
    # Longer phrases first, so that at one position the longer alternative is tried first.
    return "|".join(_non_capturing(p) for p in sorted(phrases, key=len, reverse=True))


def _phrases(phrases: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(rf"\b(?:{_alternation(phrases)})\b")


@lru_cache(maxsize=8)
def _compiled(words: Vocabulary) -> _Patterns:
    negation = rf"(?:{_alternation(words.negators)})(?: \w+)? (?:{_alternation(words.negatable)})"
    thanks = _phrases(words.thanks)
    labelled: list[tuple[_Label, re.Pattern[str]]] = [
        (_Kind.DO_NOT_CALL, _phrases(words.do_not_call)),
        (_Kind.CALL_BACK, _phrases(words.call_back)),
        (_Kind.NOT_INTERESTED, _phrases(words.not_interested)),
        (_Kind.HOLD, _phrases(words.hold)),
        *((kind, _phrases(phrases)) for kind, phrases in words.questions.items()),
        (_Kind.REPEAT, _phrases(words.repeat)),
        (_Kind.FAREWELL, _phrases(words.farewell)),
        (_Kind.CLOSING, _phrases(words.closing)),
        (_Kind.THATS_IT, _phrases(words.thats_it)),
        (_Kind.SMALL_TALK, _phrases(words.small_talk)),
        (_Kind.PROPOSAL, _phrases(words.proposal)),
        (_Kind.DENY, _phrases((*words.deny, negation))),
        (_Kind.CALL_BACK_IF_NOW, _phrases(words.call_back_when_asked_now)),
        (_Kind.POLITE, _phrases(words.polite)),
        (_Kind.AFFIRM, _phrases(words.affirm)),
        (_Kind.HEDGE, _phrases(words.hedge)),
        (_Kind.NEUTRAL, _phrases(words.neutral)),
        (_Kind.GREETING, _phrases(words.greeting)),
        (_Kind.THANKS, thanks),
        (_Kind.QUESTION_SHAPE, _phrases(words.question_starts)),
    ]
    return _Patterns(
        fillers=_phrases(words.fillers),
        thanks=thanks,
        leading=re.compile(rf"^(?:(?:{_alternation(words.leading_fillers)})(?: |$))+"),
        labelled=tuple(
            (label, 0 if label in _FIRST_TIER else 1, pattern) for label, pattern in labelled
        ),
        when=_phrases(words.when),
        contrast=_phrases(words.contrast),
        connectors=re.compile(rf"^(?:(?:{_alternation(words.connectors)})(?: |$))+"),
        later=_phrases(words.later),
        earlier=_phrases(words.earlier),
        keep=_phrases(words.keep),
        cancel=_phrases(words.cancel),
        reschedule=_phrases(words.reschedule),
        acknowledgement=re.compile(rf"(?:{_alternation(words.acknowledgements)})"),
        question_leads=frozenset(words.question_leads),
        glue=frozenset(words.glue),
        noise=frozenset(words.noise),
    )


_APOSTROPHES = re.compile("['\u2019\u2018`\u00b4]")
_PUNCTUATION = re.compile(r"[\W_]+")


def normalize(text: str, words: Vocabulary = ENGLISH) -> str:
    """The turn as the reader sees it: lower case, no apostrophes or punctuation, no fillers."""
    patterns = _compiled(words)
    text = _PUNCTUATION.sub(" ", _APOSTROPHES.sub("", text.lower())).strip()
    text = " ".join(patterns.fillers.sub(" ", text).split())
    return patterns.leading.sub("", text).strip()


# Phrases that decide the turn whatever else it says: never hidden by an overlapping lesser one
# ("could you try me again tomorrow" is a call-back, not "could you try ...").
_FIRST_TIER = frozenset(
    {_Kind.DO_NOT_CALL, _Kind.CALL_BACK, _Kind.NOT_INTERESTED, _Kind.HOLD, _Kind.REPEAT, *Question}
)


def _spans(text: str, patterns: _Patterns) -> list[_Span]:
    """Every known phrase, overlaps settled leftmost-longest (first tier, then by priority)."""
    found: list[tuple[int, int, int, int, _Label]] = []
    for priority, (label, tier, pattern) in enumerate(patterns.labelled):
        for match in pattern.finditer(text):
            if label is _Kind.QUESTION_SHAPE and not _opens_question(text, match.start(), patterns):
                continue
            if match.end() > match.start():
                found.append((tier, match.start(), -match.end(), priority, label))
    found.sort(key=lambda item: item[:4])
    spans: list[_Span] = []
    for _, start, negative_end, _, label in found:
        if all(-negative_end <= span.start or start >= span.end for span in spans):
            spans.append(_Span(start, -negative_end, label))
    spans.sort(key=lambda span: span.start)
    return spans


def _opens_question(text: str, start: int, patterns: _Patterns) -> bool:
    """A question's shape counts at the start, or after a lead-in ("yes but how ...")."""
    before = text[:start].split()
    return not before or before[-1] in patterns.question_leads


def _in_context(span: _Span, expecting: Expecting) -> _Span:
    """What a context-dependent phrase means at this point of the call."""
    if span.label is _Kind.CALL_BACK_IF_NOW:
        label: _Label = _Kind.CALL_BACK if expecting in _ASKED_NOW else _Kind.DENY
        return _Span(span.start, span.end, label)
    if span.label is _Kind.THATS_IT:
        # "thats it" confirms a read-back or a zone; at an offer it is as likely "I'm done",
        # and a booking needs an unmistakable yes.
        label = _Kind.AFFIRM if expecting in _CONFIRMING - _OFFERS else _Kind.CLOSING
        return _Span(span.start, span.end, label)
    return span


_POLAR = frozenset({_Kind.AFFIRM, _Kind.POLITE, _Kind.DENY})


def _answer(
    text: str, spans: list[_Span], expecting: Expecting, patterns: _Patterns
) -> tuple[Intent | None, int, int]:
    """The yes or no that answers the question, with the span of the words that say it."""
    polar = [span for span in spans if span.label in _POLAR]
    if not polar or text.count(" ", 0, polar[0].start) >= _ANSWER_WITHIN_WORDS:
        return None, 0, 0
    run = [polar[0]]
    for span in polar[1:]:
        if any(word not in patterns.glue for word in text[run[-1].end : span.start].split()):
            break
        run.append(span)
    answer: Intent | None = None
    for span in run:
        if span.label is _Kind.DENY:
            answer = Intent.DENY
        elif not (span.label is _Kind.POLITE and answer is Intent.DENY):
            answer = Intent.AFFIRM
    if expecting is Expecting.ANYTHING_ELSE and any(s.label is _Kind.DENY for s in run):
        answer = Intent.DENY  # "no thats fine", "yeah no": nothing else
    return answer, run[0].start, run[-1].end


_COURTESY = frozenset({_Kind.THANKS, _Kind.FAREWELL, _Kind.CLOSING, _Kind.GREETING})


def _content(text: str, drop: list[_Span], patterns: _Patterns) -> str:
    """``text`` without the ``drop`` spans and leading connectors; "" if only noise is left."""
    kept, at = [], 0
    for span in drop:
        kept.append(text[at : span.start])
        at = span.end
    kept.append(text[at:])
    rest = patterns.connectors.sub("", " ".join(" ".join(kept).split())).strip()
    if all(word in patterns.noise for word in rest.split()):
        return ""
    return rest


def _when(text: str, patterns: _Patterns) -> str | None:
    """The call-back time as said: the first time phrase and those right after it."""
    matches = list(patterns.when.finditer(text))
    if not matches:
        return None
    start, end = matches[0].span()
    for match in matches[1:]:
        if match.start() > end + 1:
            break
        end = match.end()
    return text[start:end]


# One turn is read by the dialogue, then again by the consent check under the tools: the
# reading is pure and a Turn immutable, so the second read is a look-up.
@lru_cache(maxsize=512)
def read_turn(text: str, expecting: Expecting, words: Vocabulary = ENGLISH) -> Turn:
    """What the caller did with this turn, given what the agent asked (see the module doc)."""
    patterns = _compiled(words)
    said = normalize(text, words)
    spans = [_in_context(span, expecting) for span in _spans(said, patterns)]
    labels = {span.label for span in spans}
    # Slot-time flags ignore the words of a call-back or a farewell ("talk to you later").
    about_time = _content(
        said, [s for s in spans if s.label in (_Kind.CALL_BACK, _Kind.FAREWELL)], patterns
    )
    later = bool(patterns.later.search(about_time))
    earlier = bool(patterns.earlier.search(about_time))
    common = {
        "text": text,
        "keep": bool(patterns.keep.search(said)),
        "cancel": bool(patterns.cancel.search(said)),
        "reschedule": bool(patterns.reschedule.search(said)),
        "thanks": bool(patterns.thanks.search(said)),
        "farewell": _Kind.FAREWELL in labels,
    }

    def turn(intent: Intent, **details: object) -> Turn:
        return Turn(intent=intent, later=later, earlier=earlier, **common, **details)

    if _Kind.DO_NOT_CALL in labels:
        return Turn(intent=Intent.DO_NOT_CALL, **common)
    if _Kind.CALL_BACK in labels:
        return Turn(intent=Intent.CALL_BACK, call_back_when=_when(said, patterns), **common)
    if _Kind.NOT_INTERESTED in labels:
        return turn(Intent.NOT_INTERESTED)
    if _Kind.HOLD in labels:
        return turn(Intent.HOLD)
    asked = next((span.label for span in spans if isinstance(span.label, Question)), None)
    if asked is not None:
        return turn(Intent.QUESTION, question=asked)
    if _Kind.REPEAT in labels:
        return turn(Intent.REPEAT)
    if _Kind.QUESTION_SHAPE in labels:
        return turn(Intent.QUESTION, question=Question.OTHER)

    answer, start, end = _answer(said, spans, expecting, patterns)
    done = bool(labels & {_Kind.CLOSING, _Kind.FAREWELL, _Kind.SMALL_TALK})
    if expecting is Expecting.ANYTHING_ELSE and done:
        return turn(Intent.GOODBYE)
    if _Kind.FAREWELL in labels and (
        answer is not Intent.AFFIRM or patterns.acknowledgement.fullmatch(said[start:end])
    ):
        return turn(Intent.GOODBYE)  # "no thanks bye", "ok bye": not a yes to the question
    declined = _Kind.CLOSING in labels or (
        _Kind.SMALL_TALK in labels
        and (expecting is Expecting.MEETING or (expecting in _ASKED_NOW and answer is Intent.DENY))
    )
    if declined and answer is not Intent.AFFIRM:
        return turn(Intent.NOT_INTERESTED if expecting in _ASKED_NOW else Intent.GOODBYE)

    courtesy = [span for span in spans if span.label in _COURTESY]
    if expecting is Expecting.OPENER and answer is Intent.AFFIRM and _Kind.GREETING in labels:
        return turn(Intent.INFO)  # "good thanks how are you": small talk, not consent
    if answer is not None:
        rest = said[end:]
        around = [s for s in spans if s.label in _COURTESY and not start <= s.start < end]
        change = _content(
            said,
            sorted([*around, _Span(start, end, _Kind.AFFIRM)], key=lambda s: s.start),
            patterns,
        )
        if answer is Intent.DENY:
            return turn(Intent.DENY, change=change or None)
        if _Kind.HEDGE in labels:
            return turn(Intent.UNCLEAR)  # "yeah maybe" is not consent
        proposes = any(s.label is _Kind.PROPOSAL and s.start >= end for s in spans)
        if proposes or later or earlier or patterns.contrast.search(rest):
            return turn(Intent.AFFIRM_WITH_CHANGE, change=change or None)
        if change and expecting in _CONTENT_ASKED:
            return turn(Intent.INFO, change=change)
        return turn(Intent.AFFIRM, change=change or None)

    if _Kind.PROPOSAL in labels or later or earlier:
        proposed = _content(said, courtesy, patterns) or None
        if expecting in _OFFERING:
            return turn(Intent.DENY, change=proposed)
        if expecting in _CONTENT_ASKED:
            return turn(Intent.INFO, change=proposed)
        return turn(Intent.AFFIRM_WITH_CHANGE, change=proposed)
    if _content(said, spans, patterns):
        return turn(Intent.INFO)
    if expecting is Expecting.ANYTHING_ELSE and _Kind.THANKS in labels:
        return turn(Intent.GOODBYE)
    if expecting is Expecting.OPENER and labels & {_Kind.SMALL_TALK, _Kind.GREETING}:
        return turn(Intent.INFO)
    return turn(Intent.UNCLEAR)


# --- the former signal reader, kept as a thin view of read_turn until the dialogue migrates ----


@dataclass(frozen=True, slots=True)
class Reading:
    """The old boolean signals, derived from one :class:`Turn` (prefer :func:`read_turn`)."""

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


_REFUSALS = frozenset({Intent.NOT_INTERESTED, Intent.DO_NOT_CALL})


def read(text: str, expecting: Expecting = Expecting.SLOT) -> Reading:
    """:func:`read_turn` as the old signals: a yes is consent only (a hold is neither)."""
    turn = read_turn(text, expecting)
    return Reading(
        text=text,
        yes=turn.consents,
        no=turn.intent is Intent.DENY or turn.intent in _REFUSALS,
        refusal=turn.intent in _REFUSALS,
        goodbye=turn.intent is Intent.GOODBYE or turn.farewell,
        farewell=turn.farewell,
        who=turn.question in (Question.WHO, Question.WHY),
        later=turn.later,
        earlier=turn.earlier,
        reschedule=turn.reschedule,
        cancel=turn.cancel,
        keep=turn.keep,
        thanks=turn.thanks,
    )
