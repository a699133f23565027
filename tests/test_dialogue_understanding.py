"""The caller's everyday yes/no/goodbye/refusal/"later"/reschedule forms are understood."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caller_language.understanding import read


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


def test_no_thats_all_is_a_no_and_a_goodbye() -> None:
    reading = read("No, that's all. Thanks!")
    assert reading.no and reading.goodbye and reading.thanks


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
