"""The slot engine: which starts the agent may offer, rule by rule, including DST days."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.campaign_files import CampaignInvalid, load_campaign, parse_campaign
from calendar_backend.booking_settings import BookingSettings
from calendar_backend.interval import Interval
from calendar_backend.slots import SlotRules, candidate_starts, free_slots, is_offerable

DEMO = Path(__file__).resolve().parents[1] / "examples" / "campaigns" / "demo.yaml"
NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
EVERY_DAY = frozenset(range(7))


def rules(**changes: object) -> SlotRules:
    """Mon-Fri 09:00-17:00 New York, 30-minute slots every 30 minutes, nothing else."""
    base = SlotRules(
        zone=NEW_YORK,
        days=frozenset(range(5)),
        window_start=time(9),
        window_end=time(17),
        length=timedelta(minutes=30),
        step=timedelta(minutes=30),
        buffer_before=timedelta(0),
        buffer_after=timedelta(0),
        minimum_notice=timedelta(0),
        look_ahead=timedelta(days=14),
    )
    return dataclasses.replace(base, **changes)


def local(zone: ZoneInfo, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=zone, fold=fold)


def ny(*args: int, fold: int = 0) -> datetime:
    return local(NEW_YORK, *args, fold=fold)


def walls(starts: list[datetime], zone: ZoneInfo) -> list[str]:
    """Starts as the owner reads them: local date, time and UTC offset."""
    return [s.astimezone(zone).strftime("%m-%d %H:%M%z") for s in starts]


def busy(start: datetime, minutes: int) -> Interval:
    return Interval(start, start + timedelta(minutes=minutes))


# A Monday in December: no DST change anywhere near it.
MONDAY = (2026, 12, 7)
MONDAY_8AM = ny(*MONDAY, 8)
ONE_DAY = timedelta(days=1)


# --- Rules from a campaign -------------------------------------------------------------------


def test_rules_come_from_the_campaign_booking_settings() -> None:
    r = SlotRules.from_settings(load_campaign(DEMO).booking)
    assert r.zone == NEW_YORK
    assert r.days == frozenset({0, 1, 2, 3, 4})
    assert (r.window_start, r.window_end) == (time(9), time(17))
    assert r.length == r.step == timedelta(minutes=30)
    assert (r.buffer_before, r.buffer_after) == (timedelta(0), timedelta(minutes=10))
    assert r.minimum_notice == timedelta(hours=2)
    assert r.look_ahead == timedelta(days=14)


def test_step_defaults_to_meeting_length() -> None:
    booking = BookingSettings.model_validate(
        {"meeting_length_minutes": 45, "availability": {"timezone": "Europe/Berlin"}}
    )
    assert SlotRules.from_settings(booking).step == timedelta(minutes=45)


def test_window_without_zone_uses_the_calendar_zone() -> None:
    booking = BookingSettings()
    assert SlotRules.from_settings(booking, "Europe/Berlin").zone == BERLIN


def test_window_zone_wins_over_the_calendar_zone() -> None:
    booking = BookingSettings.model_validate({"availability": {"timezone": "Asia/Tokyo"}})
    assert SlotRules.from_settings(booking, "Europe/Berlin").zone == ZoneInfo("Asia/Tokyo")


def test_no_zone_anywhere_is_refused_rather_than_guessed() -> None:
    with pytest.raises(ValueError, match="time zone"):
        SlotRules.from_settings(BookingSettings(), None)


def test_window_crossing_midnight_is_refused_by_the_campaign() -> None:
    data = {"name": "late", "booking": {"availability": {"start": "22:00", "end": "02:00"}}}
    with pytest.raises(CampaignInvalid) as caught:
        parse_campaign(data)
    assert caught.value.problems == [
        (
            "booking.availability.end",
            "end 02:00 must be after start 22:00 (windows crossing midnight are not supported)",
        )
    ]


def test_rules_refuse_a_window_that_ends_before_it_starts() -> None:
    with pytest.raises(ValueError, match="end after it starts"):
        rules(window_start=time(22), window_end=time(2))


@pytest.mark.parametrize(
    "change",
    [
        {"length": timedelta(0)},
        {"step": timedelta(minutes=-5)},
        {"buffer_after": timedelta(minutes=-1)},
        {"days": frozenset()},
        {"days": frozenset({7})},
    ],
)
def test_rules_refuse_nonsense_values(change: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        rules(**change)


# --- Window, step and days -------------------------------------------------------------------


def test_starts_are_laid_every_step_from_window_start_and_may_end_exactly_at_window_end() -> None:
    r = rules(step=timedelta(minutes=45), look_ahead=ONE_DAY)
    starts = candidate_starts(r, MONDAY_8AM)
    assert walls(starts, NEW_YORK) == [
        f"12-07 {h}-0500"
        for h in (
            "09:00", "09:45", "10:30", "11:15", "12:00", "12:45",
            "13:30", "14:15", "15:00", "15:45", "16:30",
        )
    ]  # fmt: skip
    assert free_slots(r, [], MONDAY_8AM)[-1] == Interval(ny(*MONDAY, 16, 30), ny(*MONDAY, 17))


def test_a_slot_that_would_run_past_the_window_end_is_not_offered() -> None:
    r = rules(length=timedelta(minutes=60), step=timedelta(minutes=45), look_ahead=ONE_DAY)
    assert walls(candidate_starts(r, MONDAY_8AM), NEW_YORK)[-1] == "12-07 15:45-0500"


def test_only_the_listed_days_are_offered() -> None:
    r = rules(days=frozenset({0, 2}), look_ahead=timedelta(days=7))
    days = {s.astimezone(NEW_YORK).strftime("%a") for s in candidate_starts(r, MONDAY_8AM)}
    assert days == {"Mon", "Wed"}


def test_window_is_the_owner_wall_clock_not_utc() -> None:
    r = rules(zone=ZoneInfo("Asia/Tokyo"), look_ahead=ONE_DAY)
    first = candidate_starts(r, datetime(2026, 12, 6, 12, tzinfo=UTC))[0]  # Sunday 21:00 Tokyo
    assert first == datetime(2026, 12, 7, 0, 0, tzinfo=UTC)  # Monday 09:00 in Tokyo


# --- Notice and look-ahead -------------------------------------------------------------------


def test_nothing_is_offered_sooner_than_the_minimum_notice() -> None:
    r = rules(minimum_notice=timedelta(minutes=60), look_ahead=ONE_DAY)
    assert candidate_starts(r, ny(*MONDAY, 9, 10))[0] == ny(*MONDAY, 10, 30)


def test_a_start_exactly_at_the_minimum_notice_is_offered() -> None:
    r = rules(minimum_notice=timedelta(minutes=60), look_ahead=ONE_DAY)
    assert candidate_starts(r, ny(*MONDAY, 9))[0] == ny(*MONDAY, 10)


def test_look_ahead_is_exclusive_and_counted_in_whole_days_from_now() -> None:
    r = rules(look_ahead=ONE_DAY)
    starts = candidate_starts(r, ny(*MONDAY, 9))
    assert starts[0] == ny(*MONDAY, 9)
    assert starts[-1] == ny(*MONDAY, 16, 30)
    assert ny(2026, 12, 8, 9) not in starts  # exactly now + 24 h: outside


def test_look_ahead_reaches_into_the_next_day_when_now_is_midday() -> None:
    r = rules(look_ahead=ONE_DAY)
    starts = candidate_starts(r, ny(*MONDAY, 12))
    assert starts[0] == ny(*MONDAY, 12)
    assert starts[-1] == ny(2026, 12, 8, 11, 30)


def test_notice_longer_than_look_ahead_offers_nothing() -> None:
    r = rules(minimum_notice=timedelta(days=2), look_ahead=ONE_DAY)
    assert candidate_starts(r, MONDAY_8AM) == []
    assert free_slots(r, [], MONDAY_8AM) == []


# --- Busy time and buffers -------------------------------------------------------------------


def test_busy_time_removes_the_slots_it_overlaps() -> None:
    r = rules(look_ahead=ONE_DAY)
    slots = free_slots(r, [busy(ny(*MONDAY, 9, 15), 60)], MONDAY_8AM)
    assert [s.start for s in slots[:2]] == [ny(*MONDAY, 10, 30), ny(*MONDAY, 11)]


def test_busy_time_touching_a_slot_end_to_end_does_not_block_it() -> None:
    r = rules(look_ahead=ONE_DAY)
    around = [busy(ny(*MONDAY, 9), 60), busy(ny(*MONDAY, 10, 30), 30)]
    slots = free_slots(r, around, MONDAY_8AM)
    assert slots[0] == Interval(ny(*MONDAY, 10), ny(*MONDAY, 10, 30))
    assert slots[1].start == ny(*MONDAY, 11)


def test_buffer_after_keeps_a_gap_before_the_next_busy_time() -> None:
    r = rules(buffer_after=timedelta(minutes=10), look_ahead=ONE_DAY)
    slots = free_slots(r, [busy(ny(*MONDAY, 9, 35), 25)], MONDAY_8AM)
    assert [s.start for s in slots[:2]] == [ny(*MONDAY, 10), ny(*MONDAY, 10, 30)]


def test_buffer_before_may_reach_outside_the_window() -> None:
    r = rules(buffer_before=timedelta(minutes=15), look_ahead=ONE_DAY)
    early_call = busy(ny(*MONDAY, 8, 30), 20)  # ends 08:50, inside 09:00's buffer
    assert free_slots(r, [early_call], MONDAY_8AM)[0].start == ny(*MONDAY, 9, 30)
    ends_in_time = busy(ny(*MONDAY, 8, 15), 30)  # ends 08:45, exactly where the buffer starts
    assert free_slots(r, [ends_in_time], MONDAY_8AM)[0].start == ny(*MONDAY, 9)


def test_busy_input_may_be_unsorted_and_in_any_zone() -> None:
    r = rules(look_ahead=ONE_DAY)
    scattered = [
        busy(ny(*MONDAY, 15), 120),
        Interval(datetime(2026, 12, 7, 14, tzinfo=UTC), datetime(2026, 12, 7, 15, tzinfo=UTC)),
        busy(local(BERLIN, 2026, 12, 7, 17), 60),  # 11:00-12:00 New York
    ]
    slots = free_slots(r, scattered, MONDAY_8AM)
    starts = [s.start.astimezone(NEW_YORK).strftime("%H:%M") for s in slots]
    assert starts == ["10:00", "10:30", "12:00", "12:30", "13:00", "13:30", "14:00", "14:30"]


def test_a_busy_interval_covering_many_slots_blocks_them_all() -> None:
    r = rules(look_ahead=timedelta(days=3))
    week = Interval(MONDAY_8AM, ny(2026, 12, 9, 12))
    assert free_slots(r, [week], MONDAY_8AM)[0].start == ny(2026, 12, 9, 12)


# --- Output shape, limit, naive input --------------------------------------------------------


def test_slots_come_out_sorted_in_utc() -> None:
    r = rules(look_ahead=timedelta(days=3))
    slots = free_slots(r, [], MONDAY_8AM)
    assert all(s.start.tzinfo is UTC and s.end.tzinfo is UTC for s in slots)
    assert slots == sorted(slots)
    assert slots[0] == Interval(
        datetime(2026, 12, 7, 14, tzinfo=UTC), datetime(2026, 12, 7, 14, 30, tzinfo=UTC)
    )


def test_limit_keeps_the_earliest_slots() -> None:
    r = rules(look_ahead=timedelta(days=3))
    everything = free_slots(r, [], MONDAY_8AM)
    assert free_slots(r, [], MONDAY_8AM, limit=3) == everything[:3]
    assert free_slots(r, [], MONDAY_8AM, limit=10_000) == everything
    assert free_slots(r, [], MONDAY_8AM, limit=0) == []


def test_negative_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="limit"):
        free_slots(rules(), [], MONDAY_8AM, limit=-1)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        free_slots(rules(), [], datetime(2026, 12, 7, 8))
    with pytest.raises(ValueError, match="timezone-aware"):
        candidate_starts(rules(), datetime(2026, 12, 7, 8))
    with pytest.raises(ValueError, match="timezone-aware"):
        is_offerable(rules(), ny(*MONDAY, 9), [], datetime(2026, 12, 7, 8))


def test_naive_start_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        is_offerable(rules(), datetime(2026, 12, 7, 9), [], MONDAY_8AM)


# --- Re-checking a chosen slot ---------------------------------------------------------------


def test_a_free_aligned_start_is_offerable_in_any_zone() -> None:
    r = rules()
    assert is_offerable(r, ny(*MONDAY, 9), [], MONDAY_8AM)
    assert is_offerable(r, local(BERLIN, 2026, 12, 7, 15), [], MONDAY_8AM)  # 09:00 New York


def test_a_start_taken_meanwhile_is_no_longer_offerable() -> None:
    r = rules(buffer_after=timedelta(minutes=10))
    assert not is_offerable(r, ny(*MONDAY, 9), [busy(ny(*MONDAY, 9, 35), 10)], MONDAY_8AM)
    assert is_offerable(r, ny(*MONDAY, 9), [busy(ny(*MONDAY, 9, 40), 10)], MONDAY_8AM)


@pytest.mark.parametrize(
    ("start", "why"),
    [
        (ny(*MONDAY, 9, 10), "not on the step grid"),
        (ny(*MONDAY, 8, 30), "before the window"),
        (ny(*MONDAY, 17), "at the window end"),
        (ny(*MONDAY, 16, 45), "runs past the window"),
        (ny(2026, 12, 12, 10), "a Saturday"),
        (ny(2026, 12, 21, 9), "past the look-ahead"),
        (ny(2026, 12, 7, 7), "in the past"),
    ],
)
def test_starts_outside_the_rules_are_not_offerable(start: datetime, why: str) -> None:
    assert not is_offerable(rules(), start, [], MONDAY_8AM), why


def test_a_start_inside_the_minimum_notice_is_not_offerable() -> None:
    r = rules(minimum_notice=timedelta(hours=2))
    assert not is_offerable(r, ny(*MONDAY, 9, 30), [], MONDAY_8AM)
    assert is_offerable(r, ny(*MONDAY, 10), [], MONDAY_8AM)


# --- Daylight-saving time: United States -----------------------------------------------------


def test_nine_am_stays_nine_am_local_across_the_us_spring_change() -> None:
    r = rules(look_ahead=timedelta(days=4))
    starts = candidate_starts(r, ny(2026, 3, 6, 8))  # Friday before the change
    mornings = [s for s in starts if s.astimezone(NEW_YORK).time() == time(9)]
    assert mornings == [
        datetime(2026, 3, 6, 14, tzinfo=UTC),  # EST, UTC-5
        datetime(2026, 3, 9, 13, tzinfo=UTC),  # EDT, UTC-4
    ]


def test_us_spring_forward_skips_the_missing_hour() -> None:
    # 2026-03-08 02:00 EST jumps to 03:00 EDT: 02:00 and 02:30 never happen.
    r = rules(days=EVERY_DAY, window_start=time(1), window_end=time(4), look_ahead=ONE_DAY)
    starts = candidate_starts(r, ny(2026, 3, 8, 0))
    assert walls(starts, NEW_YORK) == [
        "03-08 01:00-0500", "03-08 01:30-0500", "03-08 03:00-0400", "03-08 03:30-0400"
    ]  # fmt: skip
    assert [s.strftime("%H:%M") for s in starts] == ["06:00", "06:30", "07:00", "07:30"]


def test_us_spring_forward_slots_are_real_minutes_long() -> None:
    r = rules(
        days=EVERY_DAY, window_start=time(1), window_end=time(4),
        length=timedelta(hours=1), step=timedelta(hours=1), look_ahead=ONE_DAY,
    )  # fmt: skip
    slots = free_slots(r, [], ny(2026, 3, 8, 0))
    # 01:00 EST lasts until 03:00 EDT (one real hour); 02:00 does not exist; 03:00 fits.
    assert slots == [
        Interval(datetime(2026, 3, 8, 6, tzinfo=UTC), datetime(2026, 3, 8, 7, tzinfo=UTC)),
        Interval(datetime(2026, 3, 8, 7, tzinfo=UTC), datetime(2026, 3, 8, 8, tzinfo=UTC)),
    ]


def test_us_window_ending_inside_the_gap_ends_when_the_clocks_jump() -> None:
    r = rules(
        days=EVERY_DAY, window_start=time(0), window_end=time(2, 30), look_ahead=timedelta(hours=12)
    )
    starts = candidate_starts(r, ny(2026, 3, 8, 0))
    assert walls(starts, NEW_YORK)[-1] == "03-08 01:30-0500"  # ends 03:00 EDT, the jump
    longer = dataclasses.replace(r, length=timedelta(hours=1))
    assert walls(candidate_starts(longer, ny(2026, 3, 8, 0)), NEW_YORK)[-1] == "03-08 01:00-0500"


def test_us_fall_back_offers_the_repeated_hour_once_on_summer_time() -> None:
    # 2026-11-01 02:00 EDT falls back to 01:00 EST: 01:00-01:59 happens twice.
    r = rules(days=EVERY_DAY, window_start=time(0, 30), window_end=time(3), look_ahead=ONE_DAY)
    starts = candidate_starts(r, ny(2026, 11, 1, 0))
    assert walls(starts, NEW_YORK) == [
        "11-01 00:30-0400", "11-01 01:00-0400", "11-01 01:30-0400",
        "11-01 02:00-0500", "11-01 02:30-0500",
    ]  # fmt: skip
    repeat = ny(2026, 11, 1, 1, fold=1)  # 01:00 EST, the second 01:00
    assert not is_offerable(r, repeat, [], ny(2026, 11, 1, 0))
    assert is_offerable(r, ny(2026, 11, 1, 1), [], ny(2026, 11, 1, 0))


def test_us_fall_back_window_ending_in_the_repeated_hour_ends_at_its_first_occurrence() -> None:
    r = rules(
        days=EVERY_DAY, window_start=time(0), window_end=time(1, 30),
        length=timedelta(hours=1), look_ahead=ONE_DAY,
    )  # fmt: skip
    starts = candidate_starts(r, ny(2026, 11, 1, 0))
    assert walls(starts, NEW_YORK) == ["11-01 00:00-0400", "11-01 00:30-0400"]


def test_nine_am_stays_nine_am_local_across_the_us_autumn_change() -> None:
    r = rules(look_ahead=timedelta(days=4))
    starts = candidate_starts(r, ny(2026, 10, 30, 8))  # Friday before the change
    mornings = [s for s in starts if s.astimezone(NEW_YORK).time() == time(9)]
    assert mornings == [
        datetime(2026, 10, 30, 13, tzinfo=UTC),  # EDT
        datetime(2026, 11, 2, 14, tzinfo=UTC),  # EST
    ]


# --- Daylight-saving time: Europe ------------------------------------------------------------


def berlin_rules(**changes: object) -> SlotRules:
    return rules(
        zone=BERLIN, days=EVERY_DAY, window_start=time(1), window_end=time(4),
        look_ahead=ONE_DAY, **changes,
    )  # fmt: skip


def test_eu_spring_forward_skips_the_missing_hour() -> None:
    # 2026-03-29 02:00 CET jumps to 03:00 CEST.
    starts = candidate_starts(berlin_rules(), local(BERLIN, 2026, 3, 29, 0))
    assert walls(starts, BERLIN) == [
        "03-29 01:00+0100", "03-29 01:30+0100", "03-29 03:00+0200", "03-29 03:30+0200"
    ]  # fmt: skip


def test_eu_fall_back_offers_the_repeated_hour_once_on_summer_time() -> None:
    # 2026-10-25 03:00 CEST falls back to 02:00 CET; 01:00 CEST is still 24 October in UTC.
    starts = candidate_starts(berlin_rules(), local(BERLIN, 2026, 10, 25, 0))
    assert walls(starts, BERLIN) == [
        "10-25 01:00+0200", "10-25 01:30+0200", "10-25 02:00+0200", "10-25 02:30+0200",
        "10-25 03:00+0100", "10-25 03:30+0100",
    ]  # fmt: skip
    assert starts[0] == datetime(2026, 10, 24, 23, tzinfo=UTC)


def test_eu_busy_time_in_utc_blocks_the_right_local_slot_on_change_day() -> None:
    now = local(BERLIN, 2026, 10, 25, 0)
    taken = busy(datetime(2026, 10, 25, 2, tzinfo=UTC), 30)
    slots = free_slots(berlin_rules(), [taken], now)
    assert "10-25 03:00+0100" not in walls([s.start for s in slots], BERLIN)
    assert len(slots) == 5


def test_nine_am_stays_nine_am_local_across_the_eu_spring_change() -> None:
    r = rules(zone=BERLIN, look_ahead=timedelta(days=4))
    starts = candidate_starts(r, local(BERLIN, 2026, 3, 27, 8))
    mornings = [s for s in starts if s.astimezone(BERLIN).time() == time(9)]
    assert mornings == [
        datetime(2026, 3, 27, 8, tzinfo=UTC),  # CET, UTC+1
        datetime(2026, 3, 30, 7, tzinfo=UTC),  # CEST, UTC+2
    ]


def test_us_and_eu_changes_on_different_weeks_shift_the_overlap() -> None:
    # Between 8 and 29 March New York is on summer time and Berlin is not: 09:00 New York
    # is 14:00 Berlin, not the usual 15:00.
    r = rules(look_ahead=ONE_DAY)
    first = candidate_starts(r, ny(2026, 3, 16, 8))[0]
    assert first.astimezone(BERLIN).strftime("%H:%M") == "14:00"


def test_busy_time_given_in_the_owner_zone_is_ordered_by_instant_in_the_repeated_hour() -> None:
    # Python compares two datetimes of the same zone by wall clock, ignoring fold: 01:10 EST
    # (the second 01:10) would sort before 01:40 EDT although it happens half an hour later.
    r = rules(
        days=EVERY_DAY, window_start=time(0), window_end=time(4),
        buffer_before=timedelta(hours=1), look_ahead=timedelta(hours=12),
    )  # fmt: skip
    summer = Interval(ny(2026, 11, 1, 1, 40), ny(2026, 11, 1, 1, 50))  # 05:40-05:50 UTC
    winter = Interval(ny(2026, 11, 1, 1, 10, fold=1), ny(2026, 11, 1, 1, 20, fold=1))  # 06:10
    two_am = ny(2026, 11, 1, 2)  # 07:00 UTC; its buffer reaches back to 06:00 UTC
    offered = [s.start for s in free_slots(r, [summer, winter], ny(2026, 11, 1, 0))]
    assert two_am not in offered
    assert not is_offerable(r, two_am, [summer, winter], ny(2026, 11, 1, 0))
    assert ny(2026, 11, 1, 2, 30) in offered
