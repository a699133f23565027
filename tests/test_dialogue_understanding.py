"""The caller's everyday yes/no/goodbye/refusal/"later"/reschedule forms are understood.

These go through :func:`read`, the old boolean view the dialogue still uses; it is derived from
:func:`read_turn` (tests/test_turn_reader.py covers the reader itself).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caller_language.understanding import Expecting, read


@pytest.mark.parametrize(
    "text",
    ["Yes.", "yeah sure", "Sure, that sounds good.", "sounds good", "Yep!", "ok", "okay",
     "That works.", "Yes, that's right.", "correct", "Perfect", "Yes, book it.", "uh huh",
     "Absolutely", "go ahead", "That works for me, thanks"],
)
def test_everyday_agreement_is_a_plain_yes(text: str) -> None:
    assert read(text).plain_yes


@pytest.mark.parametrize(
    "text",
    ["No.", "nope", "Not really.", "nah", "No thanks", "that's not right", "That doesn't work",
     "wrong", "I can't make it then", "not quite"],
)
def test_everyday_disagreement_is_a_plain_no(text: str) -> None:
    assert read(text).plain_no


def test_correction_in_the_same_breath_is_a_no() -> None:
    reading = read("no, it's m a double t at example dot com")
    assert reading.no and not reading.yes


def test_no_thats_all_after_anything_else_is_a_goodbye() -> None:
    reading = read("No, that's all. Thanks!", Expecting.ANYTHING_ELSE)
    assert reading.goodbye and reading.thanks and not reading.yes


@pytest.mark.parametrize(
    "text",
    ["im in chicago this week", "right now im driving", "hold on a sec", "give me a second",
     "let me check my calendar", "yes hold on let me check", "can you call me back later",
     "call me tomorrow afternoon", "yes but how long is it", "yes but later in the day"],
)
def test_words_like_right_or_im_in_inside_other_phrases_are_not_a_yes(text: str) -> None:
    assert not read(text).yes


@pytest.mark.parametrize("text", ["thats all", "im good", "thats it thanks", "im all set"])
def test_closings_without_apostrophes_end_the_call_after_anything_else(text: str) -> None:
    assert read(text, Expecting.ANYTHING_ELSE).goodbye


@pytest.mark.parametrize(
    "text", ["I'm not interested.", "Please stop calling me", "Take me off your list"]
)
def test_refusal_is_a_refusal_and_never_a_yes(text: str) -> None:
    reading = read(text)
    assert reading.refusal and reading.no and not reading.yes


@pytest.mark.parametrize(
    "text", ["Do you have something later?", "anything later that day", "a bit later?"]
)
def test_asking_for_later_is_understood(text: str) -> None:
    assert read(text).later


def test_talk_to_you_later_is_a_goodbye_not_a_later_slot() -> None:
    reading = read("OK, talk to you later")
    assert reading.goodbye and not reading.later


@pytest.mark.parametrize(
    "text",
    ["Actually, can we make it Friday instead?", "Could we move it to Thursday?",
     "I'd like to reschedule"],
)
def test_reschedule_requests_are_understood(text: str) -> None:
    assert read(text).reschedule


def test_cancel_is_understood() -> None:
    assert read("Actually, please cancel the meeting").cancel


@pytest.mark.parametrize("text", ["bye", "Goodbye!", "that's it, have a good day", "I'm all set"])
def test_goodbyes_are_understood(text: str) -> None:
    assert read(text).goodbye


@given(st.text(max_size=200))
def test_reading_never_fails_and_a_refusal_is_never_a_yes(text: str) -> None:
    reading = read(text)
    assert not (reading.refusal and reading.yes)
    assert not (reading.plain_yes and reading.plain_no)


def test_not_wanting_one_time_is_a_no_not_a_refusal_of_the_call() -> None:
    reading = read("I don't want Tuesday, do you have Wednesday?")
    assert reading.no and not reading.refusal
