"""Understanding the times a caller asks for: days, parts of the day, clock times, bounds."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caller_language.time_phrases import EARLIEST_HORIZON, TimeRequest, parse_time_request

NY = "America/New_York"
NEW_YORK = ZoneInfo(NY)
# Tuesday, December 1st 2026, 10 AM in New York.
TUESDAY = datetime(2026, 12, 1, 10, 0, tzinfo=NEW_YORK)


def at(*args: int, zone: ZoneInfo = NEW_YORK) -> datetime:
    return datetime(*args, tzinfo=zone)


def ask(text: str, now: datetime = TUESDAY, zone: str = NY) -> TimeRequest:
    request = parse_time_request(text, now, zone)
    assert request is not None, text
    return request


def span(text: str, now: datetime = TUESDAY, zone: str = NY) -> tuple[datetime, datetime]:
    request = ask(text, now, zone)
    return request.start, request.end


# --- days ---------------------------------------------------------------------------------------


def test_a_weekday_is_the_coming_one() -> None:
    assert span("Wednesday") == (at(2026, 12, 2), at(2026, 12, 3))
    assert span("Monday") == (at(2026, 12, 7), at(2026, 12, 8))


def test_todays_weekday_means_next_weeks() -> None:
    assert span("Tuesday") == (at(2026, 12, 8), at(2026, 12, 9))


def test_this_weekday_includes_today() -> None:
    request = ask("this Tuesday")
    assert (request.start, request.end) == (TUESDAY, at(2026, 12, 2))
    assert request.text == "today"


def test_next_weekday_is_that_day_of_next_week() -> None:
    assert span("next Tuesday") == (at(2026, 12, 8), at(2026, 12, 9))
    assert span("next Wednesday") == (at(2026, 12, 9), at(2026, 12, 10))
    # Said on a Monday, "next Tuesday" is nine days away; plain "Tuesday" is tomorrow.
    monday = at(2026, 11, 30, 9)
    assert span("next Tuesday", monday) == (at(2026, 12, 8), at(2026, 12, 9))
    assert span("Tuesday", monday) == (at(2026, 12, 1), at(2026, 12, 2))


def test_tomorrow_and_today() -> None:
    assert span("tomorrow") == (at(2026, 12, 2), at(2026, 12, 3))
    assert span("today") == (TUESDAY, at(2026, 12, 2))
    assert span("later today") == (TUESDAY, at(2026, 12, 2))
    assert span("the day after tomorrow") == (at(2026, 12, 3), at(2026, 12, 4))


def test_tomorrow_is_the_callers_tomorrow() -> None:
    # 9 PM Monday in Los Angeles is already Tuesday in UTC.
    now = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)
    la = ZoneInfo("America/Los_Angeles")
    request = ask("tomorrow", now, "America/Los_Angeles")
    assert (request.start, request.end) == (at(2026, 12, 1, zone=la), at(2026, 12, 2, zone=la))
    assert request.start.tzinfo == la


def test_later_in_the_week_runs_from_tomorrow_to_friday() -> None:
    assert span("later in the week") == (at(2026, 12, 2), at(2026, 12, 5))
    assert span("sometime later this week") == (at(2026, 12, 2), at(2026, 12, 5))


def test_later_in_the_week_on_a_friday_takes_the_weekend() -> None:
    friday = at(2026, 12, 4, 9)
    assert span("later in the week", friday) == (at(2026, 12, 5), at(2026, 12, 7))


def test_later_in_the_week_on_a_sunday_means_the_coming_work_week() -> None:
    sunday = at(2026, 12, 6, 9)
    assert span("later in the week", sunday) == (at(2026, 12, 7), at(2026, 12, 12))


def test_next_week_is_monday_to_sunday() -> None:
    assert span("next week") == (at(2026, 12, 7), at(2026, 12, 14))
    # Said on a Sunday, next week starts tomorrow.
    assert span("next week", at(2026, 12, 6, 9)) == (at(2026, 12, 7), at(2026, 12, 14))


def test_this_week_early_and_late_next_week_and_the_weekend() -> None:
    assert span("this week") == (TUESDAY, at(2026, 12, 7))
    assert span("early next week") == (at(2026, 12, 7), at(2026, 12, 9))
    assert span("late next week") == (at(2026, 12, 10), at(2026, 12, 12))
    assert span("this weekend") == (at(2026, 12, 5), at(2026, 12, 7))
    assert span("end of the week") == (at(2026, 12, 3), at(2026, 12, 5))


def test_a_month_and_day() -> None:
    request = ask("December 3rd")
    assert (request.start, request.end) == (at(2026, 12, 3), at(2026, 12, 4))
    assert request.text == "December 3rd"
    assert span("Dec 3") == (at(2026, 12, 3), at(2026, 12, 4))
    assert span("the third of December") == (at(2026, 12, 3), at(2026, 12, 4))
    assert span("on the 3rd of December") == (at(2026, 12, 3), at(2026, 12, 4))
    assert span("January 5th") == (at(2027, 1, 5), at(2027, 1, 6))


def test_may_the_verb_is_not_may_the_month() -> None:
    assert span("the 3rd may work") == (at(2026, 12, 3), at(2026, 12, 4))
    assert span("3rd May") == (at(2027, 5, 3), at(2027, 5, 4))


def test_a_date_already_past_this_year_is_next_years() -> None:
    assert span("November 30th") == (at(2027, 11, 30), at(2027, 12, 1))


def test_the_nth_is_the_next_such_day_of_a_month() -> None:
    assert span("the 3rd") == (at(2026, 12, 3), at(2026, 12, 4))
    assert span("the twenty first") == (at(2026, 12, 21), at(2026, 12, 22))
    # On December 5th, "the 3rd" is in January; "the 31st" skips months without one.
    assert span("the 3rd", at(2026, 12, 5, 9)) == (at(2027, 1, 3), at(2027, 1, 4))
    assert span("the 31st", at(2027, 2, 1, 9)) == (at(2027, 3, 31), at(2027, 4, 1))


def test_a_date_wins_over_its_weekday() -> None:
    assert span("Wednesday the 9th") == (at(2026, 12, 9), at(2026, 12, 10))


# --- parts of the day ---------------------------------------------------------------------------


def test_parts_of_the_day() -> None:
    assert span("tomorrow morning") == (at(2026, 12, 2, 8), at(2026, 12, 2, 12))
    assert span("tomorrow afternoon") == (at(2026, 12, 2, 12), at(2026, 12, 2, 17))
    assert span("tomorrow evening") == (at(2026, 12, 2, 17), at(2026, 12, 2, 20))
    assert span("Friday morning") == (at(2026, 12, 4, 8), at(2026, 12, 4, 12))
    assert span("tonight") == (at(2026, 12, 1, 17), at(2026, 12, 1, 20))


def test_a_part_of_the_day_without_a_day_is_today_while_it_lasts() -> None:
    assert span("in the afternoon") == (at(2026, 12, 1, 12), at(2026, 12, 1, 17))
    # At 10 AM the morning has begun: from now on.
    assert span("in the morning") == (TUESDAY, at(2026, 12, 1, 12))
    # At 1 PM the morning is over: tomorrow's.
    assert span("in the morning", at(2026, 12, 1, 13)) == (at(2026, 12, 2, 8), at(2026, 12, 2, 12))


def test_a_part_of_the_day_over_several_days_gives_a_daily_window() -> None:
    request = ask("mornings next week")
    assert (request.start, request.end) == (at(2026, 12, 7, 8), at(2026, 12, 13, 12))
    assert request.daily == (time(8), time(12))
    assert request.text == "mornings next week"
    assert ask("next week").daily is None


# --- clock times --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("said", "hour", "minute"),
    [
        ("at 3", 15, 0),
        ("3 PM", 15, 0),
        ("3pm", 15, 0),
        ("3 p.m.", 15, 0),
        ("three o'clock", 15, 0),
        ("3 o'clock", 15, 0),
        ("half past two", 14, 30),
        ("half past 2", 14, 30),
        ("quarter past ten", 10, 15),
        ("a quarter to four", 15, 45),
        ("noon", 12, 0),
        ("midday", 12, 0),
        ("at 12", 12, 0),
        ("at 8", 8, 0),
        ("at 11", 11, 0),
        ("at 7", 19, 0),
        ("3:30", 15, 30),
        ("10:30", 10, 30),
        ("ten thirty", 10, 30),
        ("two forty-five", 14, 45),
        ("at two forty", 14, 40),
        ("ten oh five", 10, 5),
        ("one fifteen", 13, 15),
        ("15:00", 15, 0),
        ("at 11 AM", 11, 0),
        ("at 9 pm", 21, 0),
        ("seven in the morning", 7, 0),
        ("at 9 in the evening", 21, 0),
        ("around 4", 16, 0),
    ],
)
def test_clock_times_on_a_named_day(said: str, hour: int, minute: int) -> None:
    request = ask(f"Thursday {said}")
    assert request.exact
    assert request.start == at(2026, 12, 3, hour, minute)
    assert request.end == request.start + timedelta(hours=1)


def test_a_clock_time_without_a_day_is_today_if_still_ahead() -> None:
    request = ask("at 3")
    assert (request.start, request.exact, request.text) == (
        at(2026, 12, 1, 15),
        True,
        "today at 3 PM",
    )


def test_a_clock_time_already_past_is_tomorrow() -> None:
    request = ask("at 9")
    assert (request.start, request.text) == (at(2026, 12, 2, 9), "tomorrow at 9 AM")


def test_wednesday_at_3_is_exact() -> None:
    request = ask("Wednesday at 3")
    assert request == TimeRequest(
        at(2026, 12, 2, 15), at(2026, 12, 2, 16), exact=True, text="Wednesday at 3 PM"
    )


def test_a_clock_time_over_several_days() -> None:
    request = ask("next week at 3")
    assert not request.exact
    assert request.daily == (time(15), time(16))
    assert (request.start, request.end) == (at(2026, 12, 7, 15), at(2026, 12, 13, 16))


# --- bounds -------------------------------------------------------------------------------------


def test_any_time_thursday_after_2() -> None:
    request = ask("any time Thursday after 2")
    assert (request.start, request.end) == (at(2026, 12, 3, 14), at(2026, 12, 4))
    assert not request.exact
    assert request.text == "Thursday after 2 PM"


def test_before_and_between() -> None:
    assert span("Friday before 11") == (at(2026, 12, 4), at(2026, 12, 4, 11))
    assert span("between 2 and 4 on Monday") == (at(2026, 12, 7, 14), at(2026, 12, 7, 16))
    assert span("tomorrow from 9 to 11 am") == (at(2026, 12, 2, 9), at(2026, 12, 2, 11))
    assert span("Thursday afternoon after 3") == (at(2026, 12, 3, 15), at(2026, 12, 3, 17))
    assert span("Thursday no later than 10") == (at(2026, 12, 3), at(2026, 12, 3, 10))
    assert span("Thursday between 10 pm and midnight") == (at(2026, 12, 3, 22), at(2026, 12, 4))


# --- earliest -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "said",
    ["earliest you have", "What's the soonest?", "as soon as possible", "first available"],
)
def test_the_earliest_you_have(said: str) -> None:
    request = ask(said)
    assert request.earliest
    assert (request.start, request.end) == (TUESDAY, TUESDAY + EARLIEST_HORIZON)


def test_the_earliest_on_a_named_day() -> None:
    request = ask("first thing tomorrow")
    assert request.earliest
    assert (request.start, request.end) == (at(2026, 12, 2, 8), at(2026, 12, 2, 12))
    request = ask("earliest you have Thursday afternoon")
    assert request.earliest
    assert (request.start, request.end) == (at(2026, 12, 3, 12), at(2026, 12, 3, 17))


# --- whole sentences from the dialogue ----------------------------------------------------------


def test_sentences_from_the_dialogue() -> None:
    request = ask("Do you have anything Thursday afternoon?")
    assert (request.start, request.end, request.text) == (
        at(2026, 12, 3, 12),
        at(2026, 12, 3, 17),
        "Thursday afternoon",
    )
    request = ask("Can we make it Friday instead?")
    assert (request.start, request.end, request.text) == (
        at(2026, 12, 4),
        at(2026, 12, 5),
        "Friday",
    )
    request = ask("How about 10 AM tomorrow?")
    assert (request.start, request.exact, request.text) == (
        at(2026, 12, 2, 10),
        True,
        "tomorrow at 10 AM",
    )
    assert ask("Um, yeah, could we do December 3 at 10?").start == at(2026, 12, 3, 10)


def test_a_day_ruled_out_is_skipped_for_the_one_offered_instead() -> None:
    wednesday = (at(2026, 12, 2), at(2026, 12, 3))
    assert span("Monday doesn't work, how about Wednesday?") == wednesday
    assert span("Wednesday, not Monday") == wednesday
    assert span("not Monday, Wednesday") == wednesday
    assert span("instead of Monday could we do Wednesday") == wednesday
    assert span("No, Wednesday") == wednesday
    assert span("Can we move it from Friday to Wednesday?") == wednesday
    assert span("move the meeting from the 3rd to the 10th") == (at(2026, 12, 10), at(2026, 12, 11))
    assert span("Thursday, not the 3rd") == (at(2026, 12, 3), at(2026, 12, 4))


def test_lunch_and_bare_numbers_the_dialogue_hears() -> None:
    assert span("any time after lunch on Friday") == (at(2026, 12, 4, 13), at(2026, 12, 5))
    assert span("tomorrow before lunch") == (at(2026, 12, 2), at(2026, 12, 2, 12))
    assert ask("tomorrow around lunchtime").text == "tomorrow at lunchtime"
    assert ask("can we do 4").start == at(2026, 12, 1, 16)
    assert ask("4 works").start == at(2026, 12, 1, 16)
    assert ask("could you do 4 tomorrow").start == at(2026, 12, 2, 16)
    assert span("the week after next") == (at(2026, 12, 14), at(2026, 12, 21))


@pytest.mark.parametrize(
    "said",
    [
        "",
        "yes",
        "that works for me",
        "my email is john at example dot com",
        "I have 2 questions",
        "my number is 555 1234",
        "something later",
        "at 25",
        "in 2026",
        "I'll take the second option",
        "the first one",
        "the 2nd one please",
    ],
)
def test_nothing_time_like_gives_none(said: str) -> None:
    assert parse_time_request(said, TUESDAY, NY) is None


# --- DST weeks ----------------------------------------------------------------------------------


def test_tomorrow_morning_on_the_day_us_clocks_fall_back() -> None:
    saturday = at(2026, 10, 31, 12)  # US DST ends Sunday, November 1st 2026
    start, end = span("tomorrow at 10", saturday)
    assert start == at(2026, 11, 1, 10)
    assert start.utcoffset() == timedelta(hours=-5)
    start, end = span("tomorrow morning", saturday)
    assert end - start == timedelta(hours=4)


def test_a_time_skipped_by_spring_forward_becomes_a_real_instant() -> None:
    saturday = at(2026, 3, 7, 12)  # US DST begins Sunday, March 8th 2026 at 2 AM
    request = ask("Sunday at 2:30 AM", saturday)
    assert request.start.astimezone(UTC) == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    assert request.start.utcoffset() == timedelta(hours=-4)
    assert request.end.astimezone(UTC) - request.start.astimezone(UTC) == timedelta(hours=1)


def test_a_window_inside_the_spring_forward_gap_is_still_a_range() -> None:
    request = ask("Sunday between 2:30 and 3 AM", at(2026, 3, 7, 12))
    assert request.start < request.end


def test_this_week_across_spring_forward_ends_on_daylight_time() -> None:
    start, end = span("this week", at(2026, 3, 3, 9))
    assert start.utcoffset() == timedelta(hours=-5)
    assert end == at(2026, 3, 9)
    assert end.utcoffset() == timedelta(hours=-4)


def test_a_european_caller_in_the_week_clocks_go_forward() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    friday = at(2026, 3, 27, 9, zone=berlin)  # EU summer time begins Sunday, March 29th
    start, end = span("Sunday at 10", friday, "Europe/Berlin")
    assert start == at(2026, 3, 29, 10, zone=berlin)
    assert start.utcoffset() == timedelta(hours=2)
    start, end = span("Sunday morning", friday, "Europe/Berlin")
    assert end - start == timedelta(hours=4)


# --- properties ---------------------------------------------------------------------------------

ZONES = ["America/New_York", "America/Phoenix", "Europe/Berlin", "Asia/Kolkata", "Pacific/Apia"]
DST_CHANGES = [
    datetime(2026, 3, 8, 7, tzinfo=UTC),  # US spring forward
    datetime(2026, 11, 1, 6, tzinfo=UTC),  # US fall back
    datetime(2026, 3, 29, 1, tzinfo=UTC),  # EU spring forward
    datetime(2026, 10, 25, 1, tzinfo=UTC),  # EU fall back
]
NOWS = st.one_of(
    st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
    ),
    st.builds(
        lambda change, minutes: change + timedelta(minutes=minutes),
        st.sampled_from(DST_CHANGES),
        st.integers(-8 * 24 * 60, 8 * 24 * 60),
    ),
)
TIME_WORDS = st.sampled_from(
    "next this later early late week weekend tomorrow today tonight monday friday the 3rd 31st "
    "december feb 29 at after before between and from to noon midnight half past quarter "
    "o'clock am pm 3 12 0 7:45 23:59 morning afternoon evening earliest first thing".split()
)


@settings(max_examples=300)
@given(st.text(), NOWS, st.sampled_from(ZONES))
def test_arbitrary_text_never_raises(text: str, now: datetime, zone: str) -> None:
    parse_time_request(text, now, zone)


@settings(max_examples=500)
@given(st.lists(TIME_WORDS, max_size=8).map(" ".join), NOWS, st.sampled_from(ZONES))
def test_time_like_text_gives_a_well_formed_range(text: str, now: datetime, zone: str) -> None:
    request = parse_time_request(text, now, zone)
    if request is None:
        return
    assert request.start.tzinfo == ZoneInfo(zone)
    assert request.end.tzinfo == ZoneInfo(zone)
    assert request.start < request.end
    assert request.text


# --- "one" as a pronoun, the latest -------------------------------------------------------------


@pytest.mark.parametrize(
    "said", ["the first one works", "that one works", "this one is good", "no one", "one of them"]
)
def test_one_as_a_pronoun_is_never_1_pm(said: str) -> None:
    assert parse_time_request(said, TUESDAY, NY) is None


def test_one_as_a_number_is_still_a_time() -> None:
    assert ask("thursday at one").start == at(2026, 12, 3, 13)
    assert ask("the one at 3 on thursday").start == at(2026, 12, 3, 15)
    assert ask("thursday one thirty").start == at(2026, 12, 3, 13, 30)


def test_the_latest_you_have_on_a_day() -> None:
    request = ask("whats the latest you have on friday")
    assert (request.start, request.end, request.latest) == (at(2026, 12, 4), at(2026, 12, 5), True)
    assert request.text == "latest Friday"
    assert not ask("late next week").latest
