"""The caller's turn is read in context: consent only from a plain yes, never from a hold,
a call-back request, a question or a refusal; as a recogniser prints it and as tidy text."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from caller_language.understanding import Expecting, Intent, Question, Turn, read_turn

E = Expecting
I = Intent  # noqa: E741 - the table reads better with short names
Q = Question

# (what the agent asked, what the caller said, intent, details the Turn must carry)
# fmt: off
CASES: list[tuple[Expecting, str, Intent, dict[str, object]]] = [
    # --- the opener: interest, small talk, questions, not now ---------------------------------
    (E.OPENER, "im in chicago this week", I.INFO, {}),
    (E.OPENER, "right now im driving", I.CALL_BACK, {"call_back_when": None}),
    (E.OPENER, "who is this", I.QUESTION, {"question": Q.WHO}),
    (E.OPENER, "whos calling", I.QUESTION, {"question": Q.WHO}),
    (E.OPENER, "sorry who am i speaking with", I.QUESTION, {"question": Q.WHO}),
    (E.OPENER, "what company are you with", I.QUESTION, {"question": Q.WHO}),
    (E.OPENER, "why are you calling", I.QUESTION, {"question": Q.WHY}),
    (E.OPENER, "um whats this about", I.QUESTION, {"question": Q.WHY}),
    (E.OPENER, "What is this regarding?", I.QUESTION, {"question": Q.WHY}),
    (E.OPENER, "is this a sales call", I.QUESTION, {"question": Q.SALES}),
    (E.OPENER, "are you trying to sell me something", I.QUESTION, {"question": Q.SALES}),
    (E.OPENER, "how did you get my number", I.QUESTION, {"question": Q.NUMBER_SOURCE}),
    (E.OPENER, "where did you get this number from", I.QUESTION, {"question": Q.NUMBER_SOURCE}),
    (E.OPENER, "am i talking to a robot", I.QUESTION, {"question": Q.ROBOT}),
    (E.OPENER, "are you a real person", I.QUESTION, {"question": Q.ROBOT}),
    (E.OPENER, "is this ai", I.QUESTION, {"question": Q.ROBOT}),
    (E.OPENER, "sure tell me more", I.QUESTION, {"question": Q.WHAT_NEXT}),
    (E.OPENER, "yeah what is it", I.QUESTION, {"question": Q.WHAT_NEXT}),
    (E.SLOT, "what times do you have", I.QUESTION, {"question": Q.TIMES}),
    (E.SLOT, "um what other times do you have", I.QUESTION, {"question": Q.TIMES}),
    (E.MOVE, "when are you free", I.QUESTION, {"question": Q.TIMES}),
    (E.MEETING, "ok what do you have available", I.QUESTION, {"question": Q.TIMES}),
    (E.OPENER, "how does it work", I.QUESTION, {"question": Q.WHAT_NEXT}),
    (E.OPENER, "ok so what happens next", I.QUESTION, {"question": Q.WHAT_NEXT}),
    (E.OPENER, "sounds interesting", I.AFFIRM, {}),
    (E.OPENER, "yeah sure go ahead", I.AFFIRM, {}),
    (E.OPENER, "what is your address", I.QUESTION, {"question": Q.OTHER}),
    (E.OPENER, "can you tell me where youre based", I.QUESTION, {"question": Q.OTHER}),
    (E.OPENER, "do you work with small businesses", I.QUESTION, {"question": Q.OTHER}),
    (E.OPENER, "im fine thanks", I.INFO, {"thanks": True}),
    (E.OPENER, "good thanks how are you", I.INFO, {"thanks": True}),
    (E.OPENER, "good morning", I.INFO, {}),
    (E.OPENER, "hello", I.INFO, {}),
    (E.OPENER, "not right now", I.CALL_BACK, {}),
    (E.OPENER, "not a good time", I.CALL_BACK, {}),
    (E.OPENER, "its not a great time im at work", I.CALL_BACK, {}),
    (E.OPENER, "im driving can we talk later", I.CALL_BACK, {}),
    (E.OPENER, "im in a meeting call me in an hour", I.CALL_BACK,
     {"call_back_when": "in an hour"}),
    (E.OPENER, "call me next week", I.CALL_BACK, {"call_back_when": "next week"}),
    (E.OPENER, "could you try me again tomorrow morning", I.CALL_BACK,
     {"call_back_when": "tomorrow morning"}),
    (E.OPENER, "im busy", I.CALL_BACK, {}),
    (E.OPENER, "i dont have time right now", I.CALL_BACK, {}),
    (E.OPENER, "i really dont have time for this", I.NOT_INTERESTED, {}),
    (E.OPENER, "im sorry who", I.QUESTION, {"question": Q.WHO}),
    (E.OPENER, "not interested", I.NOT_INTERESTED, {}),
    (E.OPENER, "Sorry, I'm not interested.", I.NOT_INTERESTED, {}),
    (E.OPENER, "no thanks were all set", I.NOT_INTERESTED, {}),
    (E.OPENER, "were happy with what we have", I.NOT_INTERESTED, {}),
    (E.OPENER, "please dont call me again", I.DO_NOT_CALL, {}),
    (E.OPENER, "take me off your list", I.DO_NOT_CALL, {}),
    (E.OPENER, "stop calling me", I.DO_NOT_CALL, {}),
    (E.OPENER, "put me on your do not call list", I.DO_NOT_CALL, {}),
    (E.OPENER, "remove my number please", I.DO_NOT_CALL, {}),
    (E.OPENER, "hold on a sec", I.HOLD, {}),
    (E.OPENER, "hmm", I.UNCLEAR, {}),
    (E.OPENER, "sorry what", I.REPEAT, {}),
    # --- would you like to set up a meeting? ------------------------------------------------
    (E.MEETING, "sure why not", I.AFFIRM, {}),
    (E.MEETING, "i guess", I.AFFIRM, {}),
    (E.MEETING, "yeah that would be great", I.AFFIRM, {}),
    (E.MEETING, "Yes, please.", I.AFFIRM, {}),
    (E.MEETING, "um yeah sure", I.AFFIRM, {}),
    (E.MEETING, "ok", I.AFFIRM, {}),
    (E.MEETING, "absolutely", I.AFFIRM, {}),
    (E.MEETING, "id like that", I.AFFIRM, {}),
    (E.MEETING, "i dont mind", I.AFFIRM, {}),
    (E.MEETING, "count me in", I.AFFIRM, {}),
    (E.MEETING, "yeah maybe", I.UNCLEAR, {}),
    (E.MEETING, "i dont know", I.UNCLEAR, {}),
    (E.MEETING, "maybe", I.UNCLEAR, {}),
    (E.MEETING, "no", I.DENY, {}),
    (E.MEETING, "nah", I.DENY, {}),
    (E.MEETING, "not this week", I.DENY, {}),
    (E.MEETING, "no thank you", I.DENY, {"thanks": True}),
    (E.MEETING, "not really", I.DENY, {}),
    (E.MEETING, "i dont think so", I.DENY, {}),
    (E.MEETING, "no thats fine", I.DENY, {}),
    (E.MEETING, "im good thanks", I.NOT_INTERESTED, {"thanks": True}),
    (E.MEETING, "not right now", I.CALL_BACK, {}),
    (E.MEETING, "maybe later", I.CALL_BACK, {}),
    (E.MEETING, "can you call me back later", I.CALL_BACK, {"call_back_when": "later"}),
    (E.MEETING, "call me tomorrow afternoon", I.CALL_BACK,
     {"call_back_when": "tomorrow afternoon"}),
    (E.MEETING, "can you call me back in like an hour", I.CALL_BACK,
     {"call_back_when": "in an hour"}),
    (E.MEETING, "give me a call on friday", I.CALL_BACK, {"call_back_when": "friday"}),
    (E.MEETING, "how long is the meeting", I.QUESTION, {"question": Q.LENGTH}),
    (E.MEETING, "yes but how long is it", I.QUESTION, {"question": Q.LENGTH}),
    (E.MEETING, "how long will it take", I.QUESTION, {"question": Q.LENGTH}),
    (E.MEETING, "is it free", I.QUESTION, {"question": Q.COST}),
    (E.MEETING, "what does it cost", I.QUESTION, {"question": Q.COST}),
    (E.MEETING, "how much", I.QUESTION, {"question": Q.COST}),
    (E.MEETING, "sure can we do thursday", I.AFFIRM_WITH_CHANGE,
     {"change": "can we do thursday"}),
    (E.MEETING, "how about next tuesday", I.AFFIRM_WITH_CHANGE,
     {"change": "how about next tuesday"}),
    (E.MEETING, "yes but later in the week", I.AFFIRM_WITH_CHANGE, {"later": True}),
    (E.MEETING, "no thanks bye", I.GOODBYE, {"farewell": True, "thanks": True}),
    (E.MEETING, "let me think about it", I.HOLD, {}),
    # --- the e-mail and its read-back -------------------------------------------------------
    (E.EMAIL, "its john at gmail dot com", I.INFO, {}),
    (E.EMAIL, "yeah its j o h n at gmail dot com", I.INFO,
     {"change": "its j o h n at gmail dot com"}),
    (E.EMAIL, "hang on let me spell it", I.HOLD, {}),
    (E.EMAIL, "why do you need my email", I.QUESTION, {"question": Q.OTHER}),
    (E.EMAIL_CONFIRM, "yes thats right", I.AFFIRM, {}),
    (E.EMAIL_CONFIRM, "Yes, that's right.", I.AFFIRM, {}),
    (E.EMAIL_CONFIRM, "yep", I.AFFIRM, {}),
    (E.EMAIL_CONFIRM, "thats it", I.AFFIRM, {}),
    (E.EMAIL_CONFIRM, "correct", I.AFFIRM, {}),
    (E.EMAIL_CONFIRM, "yup thats correct", I.AFFIRM, {}),
    (E.EMAIL_CONFIRM, "no no thats right", I.AFFIRM, {}),
    (E.EMAIL_CONFIRM, "perfect", I.AFFIRM, {}),
    (E.EMAIL_CONFIRM, "close but its m a double t", I.DENY, {"change": "its m a double t"}),
    (E.EMAIL_CONFIRM, "no its m a double t at example dot com", I.DENY,
     {"change": "its m a double t at example dot com"}),
    (E.EMAIL_CONFIRM, "thats not right", I.DENY, {}),
    (E.EMAIL_CONFIRM, "not quite", I.DENY, {}),
    (E.EMAIL_CONFIRM, "nope", I.DENY, {}),
    (E.EMAIL_CONFIRM, "almost theres no h", I.DENY, {}),
    (E.EMAIL_CONFIRM, "j o h n k at gmail dot com", I.INFO, {}),
    (E.EMAIL_CONFIRM, "can you read that back again", I.REPEAT, {}),
    # --- the zone ---------------------------------------------------------------------------
    (E.ZONE, "central", I.INFO, {}),
    (E.ZONE, "eastern time", I.INFO, {}),
    (E.ZONE, "im in denver", I.INFO, {}),
    (E.ZONE, "yeah its pacific", I.INFO, {"change": "its pacific"}),
    (E.ZONE, "pacific but im in chicago this week", I.INFO, {}),
    (E.ZONE, "no im on central time", I.DENY, {"change": "im on central time"}),
    (E.ZONE, "what time zone are you in", I.QUESTION, {"question": Q.MY_TIME}),
    # --- does this time work? ---------------------------------------------------------------
    (E.SLOT, "yes", I.AFFIRM, {}),
    (E.SLOT, "Yes.", I.AFFIRM, {}),
    (E.SLOT, "yeah that works", I.AFFIRM, {}),
    (E.SLOT, "um yeah uh that works for me", I.AFFIRM, {}),
    (E.SLOT, "sounds good", I.AFFIRM, {}),
    (E.SLOT, "Sure, that sounds good.", I.AFFIRM, {}),
    (E.SLOT, "perfect book it", I.AFFIRM, {}),
    (E.SLOT, "mm hmm", I.AFFIRM, {}),
    (E.SLOT, "uh huh", I.AFFIRM, {}),
    (E.SLOT, "right", I.AFFIRM, {}),
    (E.SLOT, "fine", I.AFFIRM, {}),
    (E.SLOT, "good", I.AFFIRM, {}),
    (E.SLOT, "im in", I.AFFIRM, {}),
    (E.SLOT, "that works thanks", I.AFFIRM, {"thanks": True}),
    (E.SLOT, "no problem", I.AFFIRM, {}),
    (E.SLOT, "no worries", I.AFFIRM, {}),
    (E.SLOT, "not a problem", I.AFFIRM, {}),
    (E.SLOT, "yes no problem", I.AFFIRM, {}),
    (E.SLOT, "i can make it", I.AFFIRM, {}),
    (E.SLOT, "thatll work", I.AFFIRM, {}),
    (E.SLOT, "yes tuesday suits me", I.AFFIRM, {"change": "tuesday suits me"}),
    (E.SLOT, "tuesday works for me", I.AFFIRM, {"change": "tuesday"}),
    (E.SLOT, "yes thats great thanks bye", I.AFFIRM, {"farewell": True, "thanks": True}),
    (E.SLOT, "yes but later in the day", I.AFFIRM_WITH_CHANGE,
     {"change": "later in the day", "later": True}),
    (E.SLOT, "sure but can we do thursday", I.AFFIRM_WITH_CHANGE,
     {"change": "can we do thursday"}),
    (E.SLOT, "ok but something earlier", I.AFFIRM_WITH_CHANGE, {"earlier": True}),
    (E.SLOT, "yes though friday would be better", I.AFFIRM_WITH_CHANGE,
     {"change": "friday would be better"}),
    (E.SLOT, "no tuesday suits me better", I.DENY, {"change": "tuesday suits me better"}),
    (E.SLOT, "that doesnt work", I.DENY, {}),
    (E.SLOT, "That doesn't work for me.", I.DENY, {}),
    (E.SLOT, "i cant make it then", I.DENY, {}),
    (E.SLOT, "that wont really work", I.DENY, {}),
    (E.SLOT, "yeah no", I.DENY, {}),
    (E.SLOT, "yeah no thats not gonna work", I.DENY, {}),
    (E.SLOT, "no im busy then", I.DENY, {}),
    (E.SLOT, "not tuesday", I.DENY, {}),
    (E.SLOT, "i have a meeting then", I.DENY, {}),
    (E.SLOT, "not right now", I.DENY, {}),
    (E.SLOT, "i dont want tuesday do you have wednesday", I.DENY, {}),
    (E.SLOT, "uh no sorry i cant do tuesday", I.DENY, {"change": "tuesday"}),
    (E.SLOT, "could we push it to next week", I.DENY, {"change": "could we push it to next week"}),
    (E.SLOT, "is there anything on wednesday", I.DENY, {}),
    (E.SLOT, "do you have something later", I.DENY, {"later": True}),
    (E.SLOT, "anything earlier", I.DENY, {"earlier": True}),
    (E.SLOT, "how about thursday at two", I.DENY, {"change": "how about thursday at two"}),
    (E.SLOT, "what about friday morning", I.DENY, {"change": "what about friday morning"}),
    (E.SLOT, "tuesday at 3", I.INFO, {}),
    (E.SLOT, "give me a second", I.HOLD, {}),
    (E.SLOT, "let me check my calendar", I.HOLD, {}),
    (E.SLOT, "yes hold on let me check", I.HOLD, {}),
    (E.SLOT, "all right let me think", I.HOLD, {}),
    (E.SLOT, "one moment please", I.HOLD, {}),
    (E.SLOT, "wait", I.HOLD, {}),
    (E.SLOT, "ok uh just a sec", I.HOLD, {}),
    (E.SLOT, "hang on im checking", I.HOLD, {}),
    (E.SLOT, "bear with me", I.HOLD, {}),
    (E.SLOT, "sorry what was the time again", I.QUESTION, {"question": Q.TIME_AGAIN}),
    (E.SLOT, "which day was that", I.QUESTION, {"question": Q.TIME_AGAIN}),
    (E.SLOT, "what time is that for me", I.QUESTION, {"question": Q.MY_TIME}),
    (E.SLOT, "is that in my time", I.QUESTION, {"question": Q.MY_TIME}),
    (E.SLOT, "is that eastern", I.QUESTION, {"question": Q.MY_TIME}),
    (E.SLOT, "yes whats the next step", I.QUESTION, {"question": Q.WHAT_NEXT}),
    (E.SLOT, "hmm", I.UNCLEAR, {}),
    (E.SLOT, "uh", I.UNCLEAR, {}),
    (E.SLOT, "sorry", I.REPEAT, {}),
    (E.SLOT, "come again", I.REPEAT, {}),
    (E.SLOT, "pardon", I.REPEAT, {}),
    (E.SLOT, "can you say that again", I.REPEAT, {}),
    (E.SLOT, "sorry i didnt catch that", I.REPEAT, {}),
    (E.SLOT, "youre breaking up", I.REPEAT, {}),
    (E.SLOT, "what", I.REPEAT, {}),
    (E.SLOT, "no that doesnt work bye", I.GOODBYE, {"farewell": True}),
    (E.SLOT, "ok bye", I.GOODBYE, {"farewell": True}),
    (E.SLOT, "alright then goodbye", I.GOODBYE, {"farewell": True}),
    (E.SLOT, "no thank you goodbye", I.GOODBYE, {"farewell": True, "thanks": True}),
    (E.SLOT, "no thanks im not interested", I.NOT_INTERESTED, {}),
    # --- moving a booking -------------------------------------------------------------------
    (E.MOVE, "yes move it", I.AFFIRM, {"reschedule": True}),
    (E.MOVE, "no keep the original", I.DENY, {"keep": True}),
    (E.MOVE, "never mind keep it as is", I.INFO, {"keep": True}),
    (E.MOVE, "actually please cancel the meeting", I.INFO, {"cancel": True}),
    (E.MOVE, "could we make it friday instead", I.DENY, {"reschedule": True}),
    (E.MOVE, "do you have anything later that day", I.DENY, {"later": True}),
    # --- anything else? ---------------------------------------------------------------------
    (E.ANYTHING_ELSE, "no", I.DENY, {}),
    (E.ANYTHING_ELSE, "nope", I.DENY, {}),
    (E.ANYTHING_ELSE, "no thats fine", I.DENY, {}),
    (E.ANYTHING_ELSE, "no thank you", I.DENY, {"thanks": True}),
    (E.ANYTHING_ELSE, "nope thats it", I.GOODBYE, {}),
    (E.ANYTHING_ELSE, "no thats it", I.GOODBYE, {}),
    (E.ANYTHING_ELSE, "thats all", I.GOODBYE, {}),
    (E.ANYTHING_ELSE, "thats all thanks bye", I.GOODBYE, {"thanks": True, "farewell": True}),
    (E.ANYTHING_ELSE, "No, that's all. Thanks!", I.GOODBYE, {"thanks": True}),
    (E.ANYTHING_ELSE, "im good", I.GOODBYE, {}),
    (E.ANYTHING_ELSE, "im good thanks", I.GOODBYE, {"thanks": True}),
    (E.ANYTHING_ELSE, "thats it thanks", I.GOODBYE, {"thanks": True}),
    (E.ANYTHING_ELSE, "no im all set", I.GOODBYE, {}),
    (E.ANYTHING_ELSE, "have a good one", I.GOODBYE, {"farewell": True}),
    (E.ANYTHING_ELSE, "ok talk to you later", I.GOODBYE, {"farewell": True, "later": False}),
    (E.ANYTHING_ELSE, "thank you", I.GOODBYE, {"thanks": True}),
    (E.ANYTHING_ELSE, "nothing else thanks", I.GOODBYE, {"thanks": True}),
    (E.ANYTHING_ELSE, "yes what happens next", I.QUESTION, {"question": Q.WHAT_NEXT}),
    (E.ANYTHING_ELSE, "will i get a calendar invite", I.QUESTION, {"question": Q.OTHER}),
    (E.ANYTHING_ELSE, "yeah can we do tuesday instead", I.AFFIRM_WITH_CHANGE,
     {"reschedule": True}),
    (E.ANYTHING_ELSE, "actually yes i want to book a meeting", I.AFFIRM, {}),
    (E.ANYTHING_ELSE, "dont call me again", I.DO_NOT_CALL, {}),
]
# fmt: on


def _id(case: tuple[Expecting, str, Intent, dict[str, object]]) -> str:
    return f"{case[0].value}:{case[1]}"


def test_the_table_covers_every_intent_and_context() -> None:
    assert len(CASES) >= 150
    assert {case[2] for case in CASES} == set(Intent)
    assert {case[0] for case in CASES} == set(Expecting)
    asked = {case[3].get("question") for case in CASES}
    assert set(Question) <= asked


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_a_realistic_line_is_read_as_the_caller_meant_it(
    case: tuple[Expecting, str, Intent, dict[str, object]],
) -> None:
    expecting, text, intent, details = case
    turn = read_turn(text, expecting)
    assert turn.intent is intent, turn
    for name, value in details.items():
        assert getattr(turn, name) == value, (name, turn)
    if intent is not Intent.QUESTION:
        assert turn.question is None
    if intent is not Intent.CALL_BACK:
        assert turn.call_back_when is None


def test_only_a_plain_yes_is_consent() -> None:
    assert read_turn("yes", Expecting.SLOT).consents
    assert not read_turn("yes but later in the day", Expecting.SLOT).consents
    assert not read_turn("yes hold on", Expecting.SLOT).consents


def test_caller_who_asks_to_hold_at_the_offer_is_not_booked() -> None:
    for line in (
        "hold on",
        "give me a second",
        "ok let me check my calendar",
        "one sec",
        "yeah hang on a minute",
        "sure just a moment",
    ):
        turn = read_turn(line, Expecting.SLOT)
        assert turn.intent is Intent.HOLD and not turn.consents, line


def test_a_call_back_is_not_a_later_slot() -> None:
    turn = read_turn("can you call me back later today", Expecting.SLOT)
    assert turn.intent is Intent.CALL_BACK
    assert turn.call_back_when == "later today"
    assert not turn.later


# --- properties -----------------------------------------------------------------------------

_HOLDS = ["hold on", "give me a second", "let me check", "one moment", "hang on", "wait"]
# fmt: off
_CALL_BACKS = ["call me back later", "can we talk later", "call me tomorrow afternoon",
               "not a good time", "im driving"]
_DO_NOT_CALL = ["please dont call me again", "take me off your list", "stop calling me"]
_QUESTIONS = ["who is this", "how long is it", "what does it cost", "is this a sales call",
              "what was the time again", "am i talking to a robot", "how did you get my number",
              "what happens next", "why are you calling"]
_FILLERS = ["um", "uh", "like", "you know", "uh um", "um like"]
_EVERYDAY = st.sampled_from(["yes", "yeah sure", "ok", "sounds good", "that works", "perfect",
                             "right", "fine", "no problem", "i guess", "absolutely", "great"])
_SEPARATOR = st.sampled_from([" ", ", ", ". ", " - ", "... "])
# fmt: on


@given(st.text(max_size=300), st.sampled_from(list(Expecting)))
def test_reading_never_fails_on_arbitrary_text(text: str, expecting: Expecting) -> None:
    turn = read_turn(text, expecting)
    assert isinstance(turn, Turn) and turn.text == text


@given(
    _EVERYDAY,
    st.sampled_from(_HOLDS + _CALL_BACKS + _DO_NOT_CALL + _QUESTIONS),
    _EVERYDAY,
    _SEPARATOR,
    st.sampled_from(list(Expecting)),
)
def test_a_hold_call_back_refusal_or_question_is_never_consent(
    before: str,
    not_consent: str,
    after: str,
    separator: str,
    expecting: Expecting,
) -> None:
    for text in (
        not_consent,
        f"{before}{separator}{not_consent}",
        f"{not_consent}{separator}{after}",
        f"{before} {not_consent} {after}",
    ):
        assert not read_turn(text, expecting).consents, text


@given(
    st.sampled_from(CASES),
    st.lists(st.sampled_from(_FILLERS), max_size=2),
    st.lists(st.sampled_from(_FILLERS), max_size=2),
)
def test_fillers_around_a_line_do_not_change_its_intent(
    case: tuple[Expecting, str, Intent, dict[str, object]],
    before: list[str],
    after: list[str],
) -> None:
    expecting, text, intent, _ = case
    assume(not text.startswith(("huh", "hmm")))  # "uh" + "huh" is "uh huh", a yes
    padded = " ".join([*before, text, *after])
    assert read_turn(padded, expecting).intent is intent


@given(
    st.sampled_from(CASES),
    st.sampled_from([str.upper, str.title, str.capitalize, str.lower]),
    st.sampled_from(["", ".", "?", "!", "...", ","]),
    st.sampled_from([" ", ", ", " - "]),
)
def test_case_and_punctuation_do_not_change_the_intent(
    case: tuple[Expecting, str, Intent, dict[str, object]],
    casing: Callable[[str], str],
    end: str,
    comma: str,
) -> None:
    expecting, text, intent, _ = case
    head, *tail = text.split(" ", 1)
    tidy = casing(head + (comma + tail[0] if tail else "")) + end
    assert read_turn(tidy, expecting).intent is intent


def test_reading_a_typical_turn_takes_well_under_a_millisecond() -> None:
    lines = [(case[0], case[1]) for case in CASES]
    read_turn("warm up", Expecting.SLOT)
    started = time.perf_counter()
    for _ in range(5):
        for expecting, text in lines:
            read_turn(text, expecting)
    per_turn = (time.perf_counter() - started) / (5 * len(lines))
    assert per_turn < 0.5e-3, per_turn
