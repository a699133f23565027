"""The caller's time zone: from the phone number, named aloud, understood when answered."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from phonenumbers.tzdata import TIMEZONE_DATA

from app.cli import main
from caller_language.timezones import (
    _LIKELIEST_BY_PREFIX,
    _SPOKEN,
    MAX_CALLER_ZONES,
    caller_timezones,
    canonical_zone,
    is_valid_phone_number,
    zone_from_answer,
    zone_name,
)

ZONE_TAB = Path("/usr/share/zoneinfo/zone.tab")

# --- caller_timezones -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "zones"),
    [
        ("+12125550123", ["America/New_York"]),
        ("+13125551234", ["America/Chicago"]),
        ("+14155551234", ["America/Los_Angeles"]),
        ("+16025551234", ["America/Phoenix"]),
        ("+18085551234", ["Pacific/Honolulu"]),
        ("+442079460000", ["Europe/London"]),
        ("+4930123456", ["Europe/Berlin"]),
        ("+81312345678", ["Asia/Tokyo"]),
        ("+61212345678", ["Australia/Sydney"]),
    ],
)
def test_a_single_zone_number_gives_its_zone(number: str, zones: list[str]) -> None:
    assert caller_timezones(number) == zones


def test_indian_numbers_give_the_canonical_kolkata_not_calcutta() -> None:
    assert caller_timezones("+919876543210") == ["Asia/Kolkata"]


def test_formatted_numbers_are_accepted() -> None:
    assert caller_timezones("+1 (212) 555-0123") == ["America/New_York"]


def test_an_area_code_on_a_zone_line_gives_both_zones_most_populous_first() -> None:
    # South Dakota: Sioux Falls side (Central) outnumbers Rapid City side (Mountain).
    assert caller_timezones("+16055550100") == ["America/North_Dakota/Center", "America/Denver"]
    # Idaho: Boise (Mountain) outnumbers the panhandle (Pacific).
    assert caller_timezones("+12085551234") == ["America/Boise", "America/Los_Angeles"]
    # Alaska: Anchorage, not the Aleutians.
    assert caller_timezones("+19075551234") == ["America/Anchorage", "America/Adak"]


def test_northern_arizona_prefers_arizona_time_over_the_navajo_nation() -> None:
    assert caller_timezones("+19282831234") == ["America/Phoenix", "America/Denver"]


def test_uk_mobiles_give_uk_time_once_not_every_crown_dependency() -> None:
    assert caller_timezones("+447911123456") == ["Europe/London"]


@pytest.mark.parametrize("number", ["+18005551234", "+18885551212", "+18775550000"])
def test_toll_free_numbers_have_no_zone(number: str) -> None:
    assert caller_timezones(number) == []


def test_a_prefix_spanning_many_zones_is_unknown() -> None:
    # A Russian mobile could be anywhere from Kaliningrad to Kamchatka.
    assert caller_timezones("+79161234567") == []


@pytest.mark.parametrize("number", ["", "garbage", "+", "+1", "2125550123", "+1212555", "+999"])
def test_invalid_numbers_have_no_zone(number: str) -> None:
    assert caller_timezones(number) == []
    assert not is_valid_phone_number(number)


def test_valid_numbers_are_recognised() -> None:
    assert is_valid_phone_number("+12125550123")


def _every_returnable_zone() -> set[str]:
    return {canonical_zone(zone) for zones in TIMEZONE_DATA.values() for zone in zones} - {
        "Etc/Unknown"
    }


def test_every_zone_caller_timezones_can_return_loads_in_zoneinfo() -> None:
    for zone in _every_returnable_zone():
        ZoneInfo(zone)


@pytest.mark.skipif(not ZONE_TAB.exists(), reason="system tzdata has no zone.tab")
def test_every_zone_caller_timezones_can_return_is_canonical() -> None:
    canonical = {
        line.split("\t")[2].strip()
        for line in ZONE_TAB.read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert sorted(_every_returnable_zone() - canonical) == []


def test_the_likeliest_zones_per_area_code_are_among_its_zones() -> None:
    for prefix, zone in _LIKELIEST_BY_PREFIX.items():
        assert any(zone in zones for key, zones in TIMEZONE_DATA.items() if key.startswith(prefix))


def test_never_more_than_the_maximum_zones() -> None:
    for prefix in TIMEZONE_DATA:
        assert len(caller_timezones(f"+{prefix}5550123")) <= MAX_CALLER_ZONES


@given(st.text())
def test_caller_timezones_never_raises(text: str) -> None:
    assert isinstance(caller_timezones(text), list)


@given(st.from_regex(r"\+[0-9]{1,15}", fullmatch=True))
def test_caller_timezones_never_raises_on_digit_strings(text: str) -> None:
    for zone in caller_timezones(text):
        assert canonical_zone(zone) == zone


# --- canonical names and spoken names -----------------------------------------------------------


@pytest.mark.parametrize(
    ("legacy", "canonical"),
    [
        ("Asia/Calcutta", "Asia/Kolkata"),
        ("Asia/Saigon", "Asia/Ho_Chi_Minh"),
        ("America/Buenos_Aires", "America/Argentina/Buenos_Aires"),
        ("Europe/Kiev", "Europe/Kyiv"),
        ("US/Eastern", "America/New_York"),
        ("Europe/Paris", "Europe/Paris"),
    ],
)
def test_legacy_names_are_canonicalised(legacy: str, canonical: str) -> None:
    assert canonical_zone(legacy) == canonical
    ZoneInfo(canonical)


def test_every_spoken_name_belongs_to_a_real_zone() -> None:
    for zone in _SPOKEN:
        ZoneInfo(zone)


@pytest.mark.parametrize(
    ("zone", "spoken"),
    [
        ("America/New_York", "Eastern"),
        ("America/Toronto", "Eastern"),
        ("America/Chicago", "Central"),
        ("America/Denver", "Mountain"),
        ("America/Phoenix", "Arizona"),
        ("America/Los_Angeles", "Pacific"),
        ("America/Anchorage", "Alaska"),
        ("Pacific/Honolulu", "Hawaii"),
        ("Europe/London", "UK time"),
        ("Europe/Paris", "Central European time"),
        ("Europe/Berlin", "Central European time"),
        ("Europe/Athens", "Eastern European time"),
        ("Asia/Calcutta", "India time"),
        ("Asia/Tokyo", "Tokyo time"),
        ("America/Argentina/Buenos_Aires", "Buenos Aires time"),
        ("Etc/UTC", "UTC"),
        ("Etc/GMT+5", "UTC minus 5"),
    ],
)
def test_zones_are_named_the_way_callers_say_them(zone: str, spoken: str) -> None:
    assert zone_name(zone) == spoken


# --- zone_from_answer ---------------------------------------------------------------------------

EASTERN_OR_CENTRAL = ["America/New_York", "America/Chicago"]
MOUNTAIN_OR_ARIZONA = ["America/Denver", "America/Phoenix"]


@pytest.mark.parametrize(
    ("answer", "candidates", "zone"),
    [
        ("eastern", EASTERN_OR_CENTRAL, "America/New_York"),
        ("Eastern.", [], "America/New_York"),
        ("central time", EASTERN_OR_CENTRAL, "America/Chicago"),
        ("Central, I think", EASTERN_OR_CENTRAL, "America/Chicago"),
        ("I'm in Chicago", EASTERN_OR_CENTRAL, "America/Chicago"),
        ("Pacific", [], "America/Los_Angeles"),
        ("we're on the west coast", [], "America/Los_Angeles"),
        ("mountain", MOUNTAIN_OR_ARIZONA, "America/Denver"),
        ("Arizona", MOUNTAIN_OR_ARIZONA, "America/Phoenix"),
        ("I'm in Phoenix", MOUNTAIN_OR_ARIZONA, "America/Phoenix"),
        ("London", [], "Europe/London"),
        ("UK time", [], "Europe/London"),
        ("Tokyo", [], "Asia/Tokyo"),
        ("Hawaii", [], "Pacific/Honolulu"),
        ("Alaska time", [], "America/Anchorage"),
        ("I'm in New York", [], "America/New_York"),
        ("New Jersey", [], "America/New_York"),
        ("Kolkata", [], "Asia/Kolkata"),
        ("central european time", [], "Europe/Berlin"),
        ("eastern european", [], "Europe/Athens"),
        ("EST", [], "America/New_York"),
        ("Eastern Standard Time", [], "America/New_York"),
        ("I'm in St. Louis", [], "America/Chicago"),
        ("we're in Georgia", [], "America/New_York"),
        ("Tbilisi", [], "Asia/Tbilisi"),
        ("El Paso", [], "America/Denver"),
        ("Chicago, central time", [], "America/Chicago"),
    ],
)
def test_the_caller_names_their_zone(answer: str, candidates: list[str], zone: str) -> None:
    assert zone_from_answer(answer, candidates) == zone


def test_a_candidate_with_the_spoken_name_beats_the_default_zone() -> None:
    # A Boise caller saying "mountain" is on America/Boise, not America/Denver.
    assert zone_from_answer("mountain time", ["America/Boise", "America/Los_Angeles"]) == (
        "America/Boise"
    )
    # A Paris caller saying "central european" keeps Paris.
    assert zone_from_answer("central european", ["Europe/Paris"]) == "Europe/Paris"


def test_an_arizonan_saying_mountain_gets_arizona_when_that_is_the_only_candidate() -> None:
    assert zone_from_answer("mountain standard", ["America/Phoenix"]) == "America/Phoenix"


def test_a_travelling_caller_names_a_zone_that_is_no_candidate() -> None:
    assert zone_from_answer("I'm in London this week", EASTERN_OR_CENTRAL) == "Europe/London"


def test_legacy_candidates_come_back_canonical() -> None:
    assert zone_from_answer("India", ["Asia/Calcutta"]) == "Asia/Kolkata"


def test_same_as_you_means_the_owners_zone() -> None:
    assert (
        zone_from_answer("same as you", EASTERN_OR_CENTRAL, owner_zone="America/New_York")
        == "America/New_York"
    )
    assert zone_from_answer("The same as yours.", [], owner_zone="Europe/Kiev") == "Europe/Kyiv"


def test_same_as_you_without_the_owners_zone_is_unclear() -> None:
    assert zone_from_answer("same as you", EASTERN_OR_CENTRAL) is None


def test_a_negated_zone_is_not_taken() -> None:
    assert zone_from_answer("not eastern, central", EASTERN_OR_CENTRAL) == "America/Chicago"


@pytest.mark.parametrize(
    "answer",
    ["yes", "I don't know", "", "hmm, either", "Chicago or maybe New York", "Christmas", "center"],
)
def test_unclear_answers_give_none(answer: str) -> None:
    assert zone_from_answer(answer, EASTERN_OR_CENTRAL) is None


@given(st.text(), st.lists(st.sampled_from(sorted(_SPOKEN))), st.none() | st.just("Etc/UTC"))
def test_zone_from_answer_never_raises(text: str, candidates: list[str], owner: str | None) -> None:
    zone = zone_from_answer(text, candidates, owner_zone=owner)
    assert zone is None or ZoneInfo(zone)


# --- booking-agent say zone ---------------------------------------------------------------------


def test_cli_prints_the_zones_with_their_spoken_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["say", "zone", "+16055550100"]) == 0
    assert capsys.readouterr().out == (
        "America/North_Dakota/Center (Central)\nAmerica/Denver (Mountain)\n"
    )


def test_cli_refuses_an_invalid_number_with_a_reason(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["say", "zone", "12345"]) == 1
    assert "not a valid international phone number" in capsys.readouterr().err


def test_cli_says_when_a_valid_number_has_no_known_zone(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["say", "zone", "+18005551234"]) == 1
    assert "time zone is unknown" in capsys.readouterr().err
