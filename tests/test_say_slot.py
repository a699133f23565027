"""Saying a slot aloud in the owner's zone and the caller's."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from caller_language.time_phrases import say_date, say_slot, say_time, zone_name

NEW_YORK = ZoneInfo("America/New_York")
# Thursday, November 26th 2026, 10 AM in New York.
NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("hour", "minute", "said"),
    [
        (14, 0, "2 PM"),
        (14, 30, "2:30 PM"),
        (9, 5, "9:05 AM"),
        (11, 45, "11:45 AM"),
        (12, 0, "noon"),
        (12, 30, "12:30 PM"),
        (0, 0, "midnight"),
        (0, 15, "12:15 AM"),
        (23, 59, "11:59 PM"),
    ],
)
def test_times_are_said_the_way_people_say_them(hour: int, minute: int, said: str) -> None:
    assert say_time(time(hour, minute)) == said
    assert say_time(datetime(2026, 12, 1, hour, minute, tzinfo=NEW_YORK)) == said


@pytest.mark.parametrize(
    ("day", "said"),
    [
        (date(2026, 11, 26), "today"),
        (date(2026, 11, 27), "tomorrow"),
        (date(2026, 12, 1), "Tuesday, December 1st"),
        (date(2026, 12, 2), "Wednesday, December 2nd"),
        (date(2026, 12, 3), "Thursday, December 3rd"),
        (date(2026, 12, 11), "Friday, December 11th"),
        (date(2026, 12, 12), "Saturday, December 12th"),
        (date(2026, 12, 13), "Sunday, December 13th"),
        (date(2026, 12, 21), "Monday, December 21st"),
        (date(2026, 12, 22), "Tuesday, December 22nd"),
        (date(2026, 12, 23), "Wednesday, December 23rd"),
        (date(2027, 1, 1), "Friday, January 1st"),
    ],
)
def test_days_are_said_relative_to_today(day: date, said: str) -> None:
    assert say_date(day, date(2026, 11, 26)) == said


def test_a_us_owner_and_a_west_coast_caller_hear_both_times() -> None:
    slot = utc(2026, 12, 1, 19, 0)
    assert say_slot(slot, "America/New_York", "America/Los_Angeles", NOW) == (
        "Tuesday, December 1st at 2 PM Eastern, that's 11 AM your time"
    )


def test_half_hours_are_said_with_minutes_on_both_sides() -> None:
    slot = utc(2026, 12, 1, 19, 30)
    assert say_slot(slot, "America/New_York", "America/Chicago", NOW) == (
        "Tuesday, December 1st at 2:30 PM Eastern, that's 1:30 PM your time"
    )


def test_a_caller_in_the_owners_zone_hears_the_time_once() -> None:
    slot = utc(2026, 12, 1, 19, 0)
    assert say_slot(slot, "America/New_York", "America/New_York", NOW) == (
        "Tuesday, December 1st at 2 PM Eastern"
    )


def test_a_caller_on_the_same_clock_under_the_same_name_hears_it_once() -> None:
    # Toronto and New York: same offset, both "Eastern".
    slot = utc(2026, 12, 1, 19, 0)
    assert say_slot(slot, "America/New_York", "America/Toronto", NOW) == (
        "Tuesday, December 1st at 2 PM Eastern"
    )


def test_the_same_offset_under_another_name_is_still_confirmed() -> None:
    # In July, Arizona (no DST) reads the same as Pacific; the Arizonan hears their own time.
    slot = utc(2026, 7, 14, 21, 0)
    now = utc(2026, 7, 1, 15, 0)
    assert say_slot(slot, "America/Los_Angeles", "America/Phoenix", now) == (
        "Tuesday, July 14th at 2 PM Pacific, that's 2 PM your time"
    )
    # In December they differ by an hour.
    assert say_slot(utc(2026, 12, 1, 22, 0), "America/Los_Angeles", "America/Phoenix", NOW) == (
        "Tuesday, December 1st at 2 PM Pacific, that's 3 PM your time"
    )


def test_without_the_callers_zone_only_the_owners_time_is_said() -> None:
    slot = utc(2026, 12, 1, 19, 0)
    assert say_slot(slot, "America/New_York", None, NOW) == "Tuesday, December 1st at 2 PM Eastern"


def test_an_eu_owner_and_a_us_caller() -> None:
    slot = utc(2026, 12, 1, 15, 0)
    assert say_slot(slot, "Europe/Paris", "America/New_York", NOW) == (
        "Tuesday, December 1st at 4 PM Central European time, that's 10 AM your time"
    )


def test_a_uk_owner_and_an_indian_caller() -> None:
    slot = utc(2026, 12, 1, 10, 30)
    assert say_slot(slot, "Europe/London", "Asia/Kolkata", NOW) == (
        "Tuesday, December 1st at 10:30 AM UK time, that's 4 PM your time"
    )


def test_a_slot_on_different_dates_says_both_days() -> None:
    slot = utc(2026, 12, 1, 0, 0)
    assert say_slot(slot, "Asia/Tokyo", "America/New_York", NOW) == (
        "Tuesday, December 1st at 9 AM Tokyo time, that's Monday, November 30th at 7 PM your time"
    )


def test_a_us_evening_is_the_next_morning_in_europe() -> None:
    slot = utc(2026, 12, 2, 2, 0)  # Tuesday 6 PM Pacific
    assert say_slot(slot, "America/Los_Angeles", "Europe/Berlin", NOW) == (
        "Tuesday, December 1st at 6 PM Pacific, that's Wednesday, December 2nd at 3 AM your time"
    )


def test_today_and_tomorrow_are_said_when_they_apply() -> None:
    assert say_slot(utc(2026, 11, 26, 19, 0), "America/New_York", "America/Denver", NOW) == (
        "today at 2 PM Eastern, that's noon your time"
    )
    assert say_slot(utc(2026, 11, 27, 14, 0), "America/New_York", "America/Denver", NOW) == (
        "tomorrow at 9 AM Eastern, that's 7 AM your time"
    )


def test_today_for_the_owner_can_be_tomorrow_for_the_caller() -> None:
    # At 9 AM Eastern it is 11 PM in Tokyo; 6 PM Eastern today is 8 AM tomorrow there.
    now = utc(2026, 11, 26, 14, 0)
    slot = utc(2026, 11, 26, 23, 0)
    assert say_slot(slot, "America/New_York", "Asia/Tokyo", now) == (
        "today at 6 PM Eastern, that's tomorrow at 8 AM your time"
    )


def test_today_and_tomorrow_are_judged_in_each_sides_own_zone() -> None:
    # 11 PM Thursday in New York is already Friday 4 AM in London; a slot Friday 2 PM Eastern
    # is tomorrow for the owner but today for the caller.
    now = utc(2026, 11, 27, 4, 0)
    slot = utc(2026, 11, 27, 19, 0)
    assert say_slot(slot, "America/New_York", "Europe/London", now) == (
        "tomorrow at 2 PM Eastern, that's today at 7 PM your time"
    )


def test_slots_across_the_us_dst_change_use_the_offset_of_their_own_day() -> None:
    now = utc(2026, 10, 29, 15, 0)  # Thursday before US DST ends on Sunday, November 1st
    # Friday 2 PM EDT (UTC-4) and Monday 2 PM EST (UTC-5); London has already changed.
    assert say_slot(utc(2026, 10, 30, 18, 0), "America/New_York", "Europe/London", now) == (
        "tomorrow at 2 PM Eastern, that's 6 PM your time"
    )
    assert say_slot(utc(2026, 11, 2, 19, 0), "America/New_York", "Europe/London", now) == (
        "Monday, November 2nd at 2 PM Eastern, that's 7 PM your time"
    )


def test_slots_in_the_weeks_europe_and_the_us_are_out_of_step() -> None:
    # March 2026: the US springs forward on the 8th, Europe on the 29th; for three weeks
    # New York is four hours behind London, not five.
    now = utc(2026, 3, 2, 12, 0)
    assert say_slot(utc(2026, 3, 5, 15, 0), "Europe/London", "America/New_York", now) == (
        "Thursday, March 5th at 3 PM UK time, that's 10 AM your time"
    )
    assert say_slot(utc(2026, 3, 12, 15, 0), "Europe/London", "America/New_York", now) == (
        "Thursday, March 12th at 3 PM UK time, that's 11 AM your time"
    )


def test_zone_name_is_exported_for_other_code() -> None:
    assert zone_name("America/Chicago") == "Central"


def test_naive_datetimes_are_refused_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        say_slot(datetime(2026, 12, 1, 19), "America/New_York", None, NOW)
