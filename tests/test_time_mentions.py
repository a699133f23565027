"""Finding the clock times an agent's sentence says, and checking them against a slot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caller_language.time_mentions import TimeMention, mention_matches, time_mentions
from caller_language.time_phrases import say_slot

# Thursday, November 26th 2026, 10 AM in New York.
NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
NY, LA = "America/New_York", "America/Los_Angeles"
# Tuesday, December 1st 2026, 2 PM Eastern = 11 AM Pacific.
SLOT = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)


def only(sentence: str) -> TimeMention:
    found = time_mentions(sentence)
    assert len(found) == 1, (sentence, found)
    return found[0]


@pytest.mark.parametrize(
    ("sentence", "hour", "minute", "meridiem"),
    [
        ("I can do 11 AM.", 11, 0, "am"),
        ("How about 11:00 AM?", 11, 0, "am"),
        ("We could meet at 11:00.", 11, 0, None),
        ("Would eleven work?", 11, 0, None),
        ("How about eleven?", 11, 0, None),
        ("eleven o'clock is free", 11, 0, None),
        ("I have 11 in the morning", 11, 0, "am"),
        ("There's half past two", 2, 30, None),
        ("I could do two thirty", 2, 30, None),
        ("2:30 p.m. is open", 2, 30, "pm"),
        ("We can meet at noon", 12, 0, "pm"),
        ("midnight is too late", 12, 0, "am"),
        ("14:00 works", 14, 0, None),
        ("at 9 in the evening", 9, 0, "pm"),
        ("at a quarter to four", 3, 45, None),
        ("at ten oh five", 10, 5, None),
        ("tomorrow morning at 9", 9, 0, "am"),
        ("this afternoon at 3", 3, 0, "pm"),
        ("00:30 on Tuesday", 0, 30, None),
    ],
)
def test_every_rendering_of_a_clock_time_is_found(
    sentence: str, hour: int, minute: int, meridiem: str | None
) -> None:
    found = only(sentence)
    assert (found.hour, found.minute, found.meridiem) == (hour, minute, meridiem)


@pytest.mark.parametrize(
    "sentence",
    [
        "I found 3 options for you.",
        "It's a 30 minute call with 2 people.",
        "Is the 3rd good for you?",
        "Which one works, the first or the second?",
        "Thanks, have a great day!",
        "Your number ends in 1234.",
    ],
)
def test_counts_dates_and_ordinals_are_no_times(sentence: str) -> None:
    assert time_mentions(sentence) == []


def test_a_slot_said_in_both_zones_gives_two_mentions_with_their_day_and_zone() -> None:
    owner, caller = time_mentions("Tuesday, December 1st at 2 PM Eastern, that's 11 AM your time")
    assert (owner.hour, owner.meridiem, owner.weekday, owner.day, owner.month) == (
        2,
        "pm",
        1,
        1,
        12,
    )
    assert owner.zone_words == ("eastern",)
    assert (caller.hour, caller.meridiem, caller.weekday, caller.zone_words) == (
        11, "am", None, ("your time",)
    )  # fmt: skip


def test_today_and_tomorrow_belong_to_their_own_clause() -> None:
    there, here = time_mentions("tomorrow at 9 AM Tokyo time, that's today at 7 PM your time")
    assert (there.relative_day, there.zone_words) == ("tomorrow", ("tokyo time",))
    assert (here.relative_day, here.zone_words) == ("today", ("your time",))


def test_a_list_of_times_takes_the_day_nearest_each() -> None:
    first, second = time_mentions("I have Monday at 9, or Wednesday at 3:30 PM.")
    assert (first.weekday, first.hour) == (0, 9)
    assert (second.weekday, second.hour, second.minute) == (2, 3, 30)
    assert [m.hour for m in time_mentions("I have one at 9, 10, or 11 on Tuesday")] == [9, 10, 11]


def test_dates_in_words_and_numbers() -> None:
    assert (only("the 23rd at 4").day, only("the 23rd at 4").month) == (23, None)
    assert (only("12/3 at 10 AM").month, only("12/3 at 10 AM").day) == (12, 3)
    assert only("eleven Eastern").zone_words == ("eastern",)


# --- matching -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sentence",
    [
        "Tuesday, December 1st at 2 PM Eastern",
        "Tuesday at 11 AM your time",
        "11 AM Pacific on Tuesday",
        "2 o'clock on the 1st",
        "how about two on Tuesday",
        "14:00 Eastern",
        "December 1st at 11 in the morning",
        "11:00 AM",
    ],
)
def test_a_mention_of_the_slot_matches(sentence: str) -> None:
    assert mention_matches(only(sentence), SLOT, [NY, LA], NOW), sentence


@pytest.mark.parametrize(
    "sentence",
    [
        "Wednesday at 2 PM Eastern",  # wrong weekday
        "December 2nd at 2 PM",  # wrong date
        "Tuesday at 3 PM",  # wrong hour
        "Tuesday at 2:30 PM",  # wrong minute
        "2 PM Pacific",  # right clock, wrong zone
        "tomorrow at 2 PM",  # the slot is five days out
        "11 PM Eastern",
        "January 1st at 2 PM",
    ],
)
def test_a_wrong_mention_does_not_match(sentence: str) -> None:
    assert not mention_matches(only(sentence), SLOT, [NY, LA], NOW), sentence


def test_tomorrow_said_for_a_slot_two_days_out_does_not_match() -> None:
    slot = NOW + timedelta(days=2)
    assert not mention_matches(only("tomorrow at 10 AM"), slot, [NY], NOW)
    assert mention_matches(only("the day after tomorrow at 10 AM"), slot, [NY], NOW)
    assert mention_matches(only("tomorrow at 10 AM"), NOW + timedelta(days=1), [NY], NOW)


def test_a_time_without_meridiem_matches_morning_or_evening() -> None:
    eleven = only("how about eleven")
    assert mention_matches(eleven, datetime(2026, 12, 1, 16, tzinfo=UTC), [NY], NOW)  # 11 AM
    assert mention_matches(eleven, datetime(2026, 12, 2, 4, tzinfo=UTC), [NY], NOW)  # 11 PM
    assert not mention_matches(eleven, datetime(2026, 12, 1, 17, tzinfo=UTC), [NY], NOW)


# --- properties ---------------------------------------------------------------------------------

ZONES = [
    "America/New_York", "America/Los_Angeles", "America/Phoenix", "America/Chicago",
    "Europe/London", "Europe/Berlin", "Asia/Kolkata", "Asia/Tokyo", "Australia/Adelaide",
    "Pacific/Apia", "Etc/GMT-5", "Etc/UTC", "America/St_Johns", "Asia/Kathmandu",
]  # fmt: skip
INSTANTS = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)


@settings(max_examples=300)
@given(st.text())
def test_arbitrary_text_never_raises(text: str) -> None:
    for mention in time_mentions(text):
        mention_matches(mention, SLOT, [NY, LA], NOW)


@settings(max_examples=400)
@given(
    INSTANTS,
    st.integers(0, 30 * 24 * 4),
    st.sampled_from(ZONES),
    st.one_of(st.none(), st.sampled_from(ZONES)),
)
def test_say_slots_own_words_always_match_the_slot(
    now: datetime, quarters: int, owner: str, caller: str | None
) -> None:
    slot = (now + timedelta(minutes=15 * quarters)).replace(second=0, microsecond=0)
    said = say_slot(slot, owner, caller, now)
    zones = [owner] if caller is None else [owner, caller]
    mentions = time_mentions(said)
    assert mentions, said
    for mention in mentions:
        assert mention_matches(mention, slot, zones, now), (said, mention)
