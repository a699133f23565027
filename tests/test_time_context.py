"""Times relative to the conversation and the caller's day: offers picked by place, "an hour
later", "same time on Thursday", "the latest you have", "around five my time"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caller_language.time_phrases import OfferContext, TimeRequest, parse_time_request

NY, LA, CHI = "America/New_York", "America/Los_Angeles", "America/Chicago"
E, P = ZoneInfo(NY), ZoneInfo(LA)
MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)


def at(*args: int, zone: ZoneInfo = E) -> datetime:
    return datetime(*args, tzinfo=zone)


# Tuesday, December 1st 2026, 10 AM Eastern.
TUESDAY = at(2026, 12, 1, 10)
THU_2PM, FRI_10AM, FRI_4PM = at(2026, 12, 3, 14), at(2026, 12, 4, 10), at(2026, 12, 4, 16)
TWO = OfferContext((THU_2PM, FRI_10AM), None, NY)
THREE = OfferContext((THU_2PM, FRI_10AM, FRI_4PM), None, NY)
ONE = OfferContext((THU_2PM,), THU_2PM, NY)
MOVING = OfferContext((), THU_2PM, NY)  # the booked meeting is Thursday at 2
# US DST ends Sunday, November 1st 2026: the booked meeting is Saturday, October 31st at 10.
FALL_NOW = at(2026, 10, 30, 16)
FALL = OfferContext((), at(2026, 10, 31, 10), NY)
# US DST starts Sunday, March 14th 2027: the meeting is Saturday, March 13th at 2 PM.
SPRING_NOW = at(2027, 3, 12, 17)
SPRING = OfferContext((), at(2027, 3, 13, 14), NY)
# A Friday, late evening: offered Monday at 9 and the booked meeting Friday next week at 5 PM.
FRIDAY_NIGHT = at(2026, 12, 4, 22, 30)
WEEKEND = OfferContext((at(2026, 12, 7, 9),), at(2026, 12, 7, 9), NY)
LATE_MEETING = OfferContext((), at(2026, 12, 11, 17), NY)
# A Pacific caller, an Eastern owner: offered Thursday 2 PM Eastern (11 AM Pacific).
WEST = OfferContext((THU_2PM, FRI_10AM), THU_2PM, NY)


def pick(index: int, ctx: OfferContext, zone: ZoneInfo = E) -> tuple[datetime, datetime, bool]:
    start = ctx.on_offer[index].astimezone(zone)
    return start, start + MIN, True


def exact(start: datetime) -> tuple[datetime, datetime, bool]:
    return start, start + HOUR, True


def span(start: datetime, end: datetime) -> tuple[datetime, datetime, bool]:
    return start, end, False


# (what the caller said, context, now, caller zone, (start, end, exact), choice)
ROWS: list[
    tuple[str, OfferContext | None, datetime, str, tuple[datetime, datetime, bool], int | None]
] = [  # noqa: E501
    # offers picked by place
    ("the first one", TWO, TUESDAY, NY, pick(0, TWO), 0),
    ("um the first one please", TWO, TUESDAY, NY, pick(0, TWO), 0),
    ("the second one", TWO, TUESDAY, NY, pick(1, TWO), 1),
    ("uh yeah the second one works", TWO, TUESDAY, NY, pick(1, TWO), 1),
    ("the 2nd one", TWO, TUESDAY, NY, pick(1, TWO), 1),
    ("Let's do the second option.", TWO, TUESDAY, NY, pick(1, TWO), 1),
    ("ill take the second", TWO, TUESDAY, NY, pick(1, TWO), 1),
    ("the second please", TWO, TUESDAY, NY, pick(1, TWO), 1),
    ("the last one", THREE, TUESDAY, NY, pick(2, THREE), 2),
    ("the third one", THREE, TUESDAY, NY, pick(2, THREE), 2),
    ("the later one", TWO, TUESDAY, NY, pick(1, TWO), 1),
    ("um the later one i guess", THREE, TUESDAY, NY, pick(2, THREE), 2),
    ("the earlier one", THREE, TUESDAY, NY, pick(0, THREE), 0),
    ("the earlier time", TWO, TUESDAY, NY, pick(0, TWO), 0),
    ("option 2", THREE, TUESDAY, NY, pick(1, THREE), 1),
    ("number one", TWO, TUESDAY, NY, pick(0, TWO), 0),
    ("the latter", TWO, TUESDAY, NY, pick(1, TWO), 1),
    ("the first of those", THREE, TUESDAY, NY, pick(0, THREE), 0),
    ("that one", ONE, TUESDAY, NY, pick(0, ONE), 0),
    ("yeah that one", ONE, TUESDAY, NY, pick(0, ONE), 0),
    ("that works", ONE, TUESDAY, NY, pick(0, ONE), 0),
    ("yeah thats perfect", ONE, TUESDAY, NY, pick(0, ONE), 0),
    ("that time is good", ONE, TUESDAY, NY, pick(0, ONE), 0),
    ("this one", WEEKEND, FRIDAY_NIGHT, NY, pick(0, WEEKEND), 0),
    ("the second one", WEST, TUESDAY, LA, pick(1, WEST, P), 1),
    (
        "the first one doesnt work how about friday",
        TWO,
        TUESDAY,
        NY,
        span(at(2026, 12, 4), at(2026, 12, 5)),
        None,
    ),
    ("not the first one the second one", TWO, TUESDAY, NY, pick(1, TWO), 1),
    # relative to the slot talked about
    ("same time on thursday", MOVING, TUESDAY, NY, exact(at(2026, 12, 3, 14)), None),
    ("same time on friday", MOVING, TUESDAY, NY, exact(at(2026, 12, 4, 14)), None),
    ("um can we do the same time friday", ONE, TUESDAY, NY, exact(at(2026, 12, 4, 14)), None),
    ("same time tomorrow", MOVING, TUESDAY, NY, exact(at(2026, 12, 2, 14)), None),
    ("same time next week", MOVING, TUESDAY, NY, exact(at(2026, 12, 10, 14)), None),
    ("same time on wednesday", WEST, TUESDAY, LA, exact(at(2026, 12, 2, 11, zone=P)), None),
    ("same time on monday", FALL, FALL_NOW, NY, exact(at(2026, 11, 2, 10)), None),
    ("same time on monday", SPRING, SPRING_NOW, NY, exact(at(2027, 3, 15, 14)), None),
    ("same time on sunday", SPRING, SPRING_NOW, NY, exact(at(2027, 3, 14, 14)), None),
    ("same time on monday", LATE_MEETING, FRIDAY_NIGHT, NY, exact(at(2026, 12, 7, 17)), None),
    ("an hour later", MOVING, TUESDAY, NY, exact(at(2026, 12, 3, 15)), None),
    ("maybe an hour later", ONE, TUESDAY, NY, exact(at(2026, 12, 3, 15)), None),
    ("two hours later", MOVING, TUESDAY, NY, exact(at(2026, 12, 3, 16)), None),
    ("half an hour earlier", MOVING, TUESDAY, NY, exact(at(2026, 12, 3, 13, 30)), None),
    ("30 minutes later", MOVING, TUESDAY, NY, exact(at(2026, 12, 3, 14, 30)), None),
    ("an hour and a half later", MOVING, TUESDAY, NY, exact(at(2026, 12, 3, 15, 30)), None),
    ("an hour earlier", WEST, TUESDAY, LA, exact(at(2026, 12, 3, 10, zone=P)), None),
    ("three hours earlier", MOVING, TUESDAY, NY, exact(at(2026, 12, 3, 11)), None),
    ("an hour later", LATE_MEETING, FRIDAY_NIGHT, NY, exact(at(2026, 12, 11, 18)), None),
    ("later that day", MOVING, TUESDAY, NY, span(THU_2PM + MIN, at(2026, 12, 4)), None),
    (
        "something later the same day",
        MOVING,
        TUESDAY,
        NY,
        span(THU_2PM + MIN, at(2026, 12, 4)),
        None,
    ),
    ("a bit later", ONE, TUESDAY, NY, span(THU_2PM + MIN, at(2026, 12, 4)), None),
    ("earlier that day", MOVING, TUESDAY, NY, span(at(2026, 12, 3), THU_2PM), None),
    ("a little earlier", ONE, TUESDAY, NY, span(at(2026, 12, 3), THU_2PM), None),
    ("later that day", FALL, FALL_NOW, NY, span(at(2026, 10, 31, 10, 1), at(2026, 11, 1)), None),
    ("the day after", MOVING, TUESDAY, NY, span(at(2026, 12, 4), at(2026, 12, 5)), None),
    ("the next day", MOVING, TUESDAY, NY, span(at(2026, 12, 4), at(2026, 12, 5)), None),
    (
        "the following day in the morning",
        MOVING,
        TUESDAY,
        NY,
        span(at(2026, 12, 4, 8), at(2026, 12, 4, 12)),
        None,
    ),
    ("the next day at 3", MOVING, TUESDAY, NY, exact(at(2026, 12, 4, 15)), None),
    ("the day before", MOVING, TUESDAY, NY, span(at(2026, 12, 2), at(2026, 12, 3)), None),
    ("the same day but at 4", MOVING, TUESDAY, NY, exact(at(2026, 12, 3, 16)), None),
    ("the next day", FALL, FALL_NOW, NY, span(at(2026, 11, 1), at(2026, 11, 2)), None),
    ("the next day at 2:30 am", SPRING, SPRING_NOW, NY, exact(at(2027, 3, 14, 3, 30)), None),
    (
        "the day after",
        LATE_MEETING,
        FRIDAY_NIGHT,
        NY,
        span(at(2026, 12, 12), at(2026, 12, 13)),
        None,
    ),
    # the caller's day and named zones
    (
        "in my morning",
        None,
        TUESDAY,
        LA,
        span(at(2026, 12, 1, 8, zone=P), at(2026, 12, 1, 12, zone=P)),
        None,
    ),
    (
        "thursday my afternoon",
        WEST,
        TUESDAY,
        LA,
        span(at(2026, 12, 3, 12, zone=P), at(2026, 12, 3, 17, zone=P)),
        None,
    ),
    (
        "friday morning my time",
        WEST,
        TUESDAY,
        LA,
        span(at(2026, 12, 4, 8, zone=P), at(2026, 12, 4, 12, zone=P)),
        None,
    ),
    (
        "friday morning your time",
        WEST,
        TUESDAY,
        LA,
        span(at(2026, 12, 4, 5, zone=P), at(2026, 12, 4, 9, zone=P)),
        None,
    ),
    ("5 eastern", WEST, TUESDAY, LA, exact(at(2026, 12, 1, 14, zone=P)), None),
    ("thursday at 5 pm eastern time", None, TUESDAY, LA, exact(at(2026, 12, 3, 14, zone=P)), None),
    ("thursday at 3 central", None, TUESDAY, NY, exact(at(2026, 12, 3, 16)), None),
    ("tomorrow at 10 pacific", None, TUESDAY, NY, exact(at(2026, 12, 2, 13)), None),
    ("4 pm uk time on friday", None, TUESDAY, NY, exact(at(2026, 12, 4, 11)), None),
    ("at 3 your time on thursday", WEST, TUESDAY, LA, exact(at(2026, 12, 3, 12, zone=P)), None),
    ("monday at 9 eastern", FALL, FALL_NOW, LA, exact(at(2026, 11, 2, 6, zone=P)), None),
    (
        "sunday at 9 eastern",
        FALL,
        FALL_NOW,
        CHI,
        exact(at(2026, 11, 1, 8, zone=ZoneInfo(CHI))),
        None,
    ),
    ("monday at 9 pacific", SPRING, SPRING_NOW, NY, exact(at(2027, 3, 15, 12)), None),
    # the latest
    (
        "the latest you have on friday",
        None,
        TUESDAY,
        NY,
        span(at(2026, 12, 4), at(2026, 12, 5)),
        None,
    ),
    (
        "whats the latest you have thursday afternoon",
        None,
        TUESDAY,
        NY,
        span(at(2026, 12, 3, 12), at(2026, 12, 3, 17)),
        None,
    ),
    (
        "as late as possible on wednesday",
        None,
        TUESDAY,
        NY,
        span(at(2026, 12, 2), at(2026, 12, 3)),
        None,
    ),
    (
        "last thing in the day on thursday",
        None,
        TUESDAY,
        NY,
        span(at(2026, 12, 3), at(2026, 12, 4)),
        None,
    ),
    ("the latest you have", MOVING, TUESDAY, NY, span(at(2026, 12, 3), at(2026, 12, 4)), None),
    ("the latest you have", None, FRIDAY_NIGHT, NY, span(FRIDAY_NIGHT, at(2026, 12, 5)), None),
    (
        "latest you have next week",
        None,
        FRIDAY_NIGHT,
        NY,
        span(at(2026, 12, 7), at(2026, 12, 14)),
        None,
    ),
    # the old readings stand when no context is given or it does not apply
    ("thursday at 3", TWO, TUESDAY, NY, exact(at(2026, 12, 3, 15)), None),
    ("same time on thursday", None, TUESDAY, NY, span(at(2026, 12, 3), at(2026, 12, 4)), None),
    ("the 3rd", THREE, TUESDAY, NY, span(at(2026, 12, 3), at(2026, 12, 4)), None),
    (
        "no one is free before 3 on friday",
        None,
        TUESDAY,
        NY,
        span(at(2026, 12, 4), at(2026, 12, 4, 15)),
        None,
    ),
    ("the one at 10", TWO, TUESDAY, NY, exact(at(2026, 12, 2, 10)), None),
]

LATEST = {
    "the latest you have on friday", "whats the latest you have thursday afternoon",
    "as late as possible on wednesday", "last thing in the day on thursday",
    "the latest you have", "latest you have next week",
}  # fmt: skip


def test_the_table_is_large_enough() -> None:
    assert len(ROWS) >= 80


@pytest.mark.parametrize(("said", "context", "now", "zone", "expected", "choice"), ROWS)
def test_requests_in_the_conversation(
    said: str,
    context: OfferContext | None,
    now: datetime,
    zone: str,
    expected: tuple[datetime, datetime, bool],
    choice: int | None,
) -> None:
    request = parse_time_request(said, now, zone, context)
    assert request is not None, said
    assert (request.start, request.end, request.exact) == expected, (said, request)
    assert request.choice == choice
    assert request.latest == (said in LATEST)
    assert request.start.tzinfo == ZoneInfo(zone)


@pytest.mark.parametrize(
    ("said", "context"),
    [
        ("the first one", None),
        ("the first one", MOVING),  # nothing on offer to pick from
        ("that one", TWO),  # which one?
        ("that one", None),
        ("this one please", None),
        ("the fourth one", TWO),
        ("no one told me", None),
        ("an hour later", None),
        ("later that day", None),
        ("the next day", None),
        ("thats fine", TWO),
        ("the first one doesnt work", TWO),
    ],
)
def test_ordinals_and_that_one_are_never_a_clock_time(
    said: str, context: OfferContext | None
) -> None:
    assert parse_time_request(said, TUESDAY, NY, context) is None


def test_around_a_time_in_a_named_zone_is_a_window_around_it() -> None:
    request = parse_time_request("around five my time", TUESDAY, LA, WEST)
    assert request is not None
    assert (request.start, request.end) == (
        at(2026, 12, 1, 16, 30, zone=P),
        at(2026, 12, 1, 17, 30, zone=P),
    )  # noqa: E501
    assert (request.exact, request.around) == (False, at(2026, 12, 1, 17, zone=P))
    request = parse_time_request("around 5 your time on thursday", TUESDAY, LA, WEST)
    assert request is not None
    assert request.around == at(2026, 12, 3, 14, zone=P)
    assert (request.start, request.end) == (
        at(2026, 12, 3, 13, 30, zone=P),
        at(2026, 12, 3, 14, 30, zone=P),
    )  # noqa: E501
    assert request.text == "Thursday around 5 PM Eastern"


def test_a_choice_is_described_as_the_slot_it_picks() -> None:
    request = parse_time_request("the second one", TUESDAY, LA, WEST)
    assert request is not None
    assert request.text == "Friday, December 4th at 7 AM"


def test_the_words_applied_and_ignored() -> None:
    request = parse_time_request("um thursday after lunch but not with bob", TUESDAY, NY)
    assert request is not None
    assert request.applied == ("thursday after lunch",)
    assert request.ignored == ("bob",)
    request = parse_time_request("can we do friday in the conference room", TUESDAY, NY)
    assert request is not None
    assert request.applied == ("friday",)
    assert request.ignored == ("conference", "room")
    request = parse_time_request("the first one", TUESDAY, NY, TWO)
    assert request is not None
    assert (request.applied, request.ignored) == (("the first one",), ())


def test_applied_words_do_not_change_equality() -> None:
    assert parse_time_request("Wednesday at 3", TUESDAY, NY) == TimeRequest(
        at(2026, 12, 2, 15), at(2026, 12, 2, 16), exact=True, text="Wednesday at 3 PM"
    )


# --- properties ---------------------------------------------------------------------------------

ZONES = [NY, LA, "America/Phoenix", "Europe/Berlin", "Asia/Kolkata", "Pacific/Apia"]
INSTANTS = st.one_of(
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1),
                 timezones=st.just(UTC)),
    st.builds(
        lambda change, minutes: change + timedelta(minutes=minutes),
        st.sampled_from([datetime(2026, 11, 1, 6, tzinfo=UTC),
                         datetime(2027, 3, 14, 7, tzinfo=UTC)]),
        st.integers(-8 * 24 * 60, 8 * 24 * 60),
    ),
)  # fmt: skip
CONTEXTS = st.builds(
    lambda offers, current, owner: OfferContext(tuple(offers), current, owner),
    st.lists(INSTANTS, max_size=4),
    st.one_of(st.none(), INSTANTS),
    st.sampled_from(ZONES),
)
WORDS = st.sampled_from(
    "the first second last one later earlier that this works same time on thursday an hour "
    "half two hours day after next following latest as late possible my your eastern pacific "
    "around five 5 at 3 morning afternoon in tomorrow option number before um uh".split()
)


@settings(max_examples=300)
@given(st.text(), INSTANTS, st.sampled_from(ZONES), st.one_of(st.none(), CONTEXTS))
def test_arbitrary_text_never_raises(
    text: str, now: datetime, zone: str, context: OfferContext | None
) -> None:
    parse_time_request(text, now, zone, context)


@settings(max_examples=600)
@given(st.lists(WORDS, max_size=7).map(" ".join), INSTANTS, st.sampled_from(ZONES), CONTEXTS)
def test_context_requests_are_well_formed(
    text: str, now: datetime, zone: str, context: OfferContext
) -> None:
    request = parse_time_request(text, now, zone, context)
    if request is None:
        return
    assert request.start < request.end
    assert request.start.tzinfo is not None and request.end.tzinfo is not None
    assert request.start.utcoffset() is not None and request.end.utcoffset() is not None
    if request.choice is not None:
        assert 0 <= request.choice < len(context.on_offer)
        assert request.start == context.on_offer[request.choice]
