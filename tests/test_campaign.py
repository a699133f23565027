"""Campaign files: valid ones load, invalid ones are refused whole with every problem listed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.campaign_files import CampaignInvalid, load_campaign, parse_campaign
from app.cli import main
from calendar_backend.booking_settings import Recipient

DEMO = Path(__file__).parent.parent / "examples" / "campaigns" / "demo.yaml"


def _campaign(**booking: object) -> dict:
    return {"name": "spring-outreach", "booking": booking}


def _problems(data: dict) -> dict[str, str]:
    with pytest.raises(CampaignInvalid) as caught:
        parse_campaign(data)
    return dict(caught.value.problems)


def test_demo_campaign_loads_with_the_documented_field_names() -> None:
    campaign = load_campaign(DEMO)
    booking = campaign.booking
    assert booking.enabled and booking.calendar == "local"
    assert booking.meeting_length_minutes == 30
    assert booking.availability.timezone == "America/New_York"
    assert booking.availability.days == ["mon", "tue", "wed", "thu", "fri"]
    assert (booking.availability.start.hour, booking.availability.end.hour) == (9, 17)
    assert (booking.buffer_before_minutes, booking.buffer_after_minutes) == (0, 10)
    assert (booking.minimum_notice_minutes, booking.look_ahead_days) == (120, 14)
    assert booking.step_minutes == 30 and booking.meeting_type == "video"


def test_slot_step_defaults_to_the_meeting_length() -> None:
    campaign = parse_campaign(_campaign(meeting_length_minutes=45))
    assert campaign.booking.step_minutes == 45


@pytest.mark.parametrize(
    ("booking", "path", "words"),
    [
        ({"availability": {"start": "17:00", "end": "09:00"}}, "booking.availability.end",
         "after start"),
        ({"availability": {"start": "22:00", "end": "02:00"}}, "booking.availability.end",
         "crossing midnight"),
        ({"availability": {"days": ["mon", "funday"]}}, "booking.availability.days.1", "mon"),
        ({"buffer_after_minutes": -5}, "booking.buffer_after_minutes", "greater than or equal"),
        ({"availability": {"timezone": "Mars/Olympus"}}, "booking.availability.timezone",
         "unknown time zone"),
        ({"meeting_type": "in_person"}, "booking.address", "needs an address"),
        ({"title_template": "Call with {recipient.firstname}"}, "booking.title_template",
         "{recipient.firstname}"),
        ({"description_template": "Hi {caller}"}, "booking.description_template", "{caller}"),
        ({"meeting_type": "carrier_pigeon"}, "booking.meeting_type", "video"),
        ({"lenght": 30}, "booking.lenght", "unknown field"),
    ],
)
def test_invalid_booking_settings_are_refused_by_field_path(
    booking: dict, path: str, words: str
) -> None:
    problems = _problems(_campaign(**booking))
    assert path in problems
    assert words in problems[path]


def test_every_problem_is_listed_at_once() -> None:
    problems = _problems(
        _campaign(
            availability={"start": "17:00", "end": "09:00", "days": ["someday"]},
            buffer_before_minutes=-1,
            meeting_type="in_person",
            title_template="{nope}",
        )
    )
    assert {
        "booking.availability.end",
        "booking.availability.days.0",
        "booking.buffer_before_minutes",
        "booking.address",
        "booking.title_template",
    } <= set(problems)


def test_unreadable_or_non_mapping_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(CampaignInvalid, match="cannot read"):
        load_campaign(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(CampaignInvalid, match="not valid YAML"):
        load_campaign(bad)
    listy = tmp_path / "list.yaml"
    listy.write_text("- a\n- b\n")
    with pytest.raises(CampaignInvalid, match="mapping"):
        load_campaign(listy)


def test_phone_numbers_are_normalised_to_e164_and_bad_ones_refused() -> None:
    campaign = parse_campaign({"name": "x", "phone_numbers": ["+1 (212) 555-0123"]})
    assert campaign.phone_numbers == ["+12125550123"]
    assert "phone_numbers" in _problems({"name": "x", "phone_numbers": ["555-0123"]})


def test_templates_render_from_the_recipient_and_drop_missing_values() -> None:
    booking = parse_campaign(_campaign()).booking
    recipient = Recipient(first_name="Chris", phone="+12125550123", custom={"plan": "gold"})
    assert booking.render("Intro call with {recipient.firstName}", recipient, "c") == (
        "Intro call with Chris"
    )
    assert booking.render("{recipient.custom.plan} for {campaign.name}", recipient, "spring") == (
        "gold for spring"
    )
    assert booking.render("Call with {recipient.lastName} today", Recipient(), "c") == (
        "Call with today"
    )


def test_campaign_check_exits_2_listing_problems(tmp_path: Path, capsys) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(_campaign(meeting_type="in_person", buffer_after_minutes=-1)))
    assert main(["campaign", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert "booking.address" in err and "booking.buffer_after_minutes" in err
    assert main(["campaign", "check", str(DEMO)]) == 0
    assert "valid" in capsys.readouterr().out


def test_campaign_check_console_script_exit_code(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("name: x\nbooking: {availability: {days: [funday]}}\n")
    script = Path(sys.executable).parent / "booking-agent"
    done = subprocess.run([str(script), "campaign", "check", str(path)], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 2
    assert "booking.availability.days.0" in done.stderr


def _check(capsys, path: Path) -> tuple[int, str]:
    code = main(["campaign", "check", str(path)])
    return code, capsys.readouterr().err


def _slots(capsys, path: Path) -> tuple[int, str]:
    code = main(["slots", "--campaign", str(path), "--now", "2026-11-30T07:00:00-05:00",
                 "--limit", "3"])
    return code, capsys.readouterr().err


_ZONED = "name: x\nbooking:\n  availability:\n    timezone: America/New_York\n"


@pytest.mark.parametrize(("line", "field"), [
    ("    start: 9:00", "booking.availability.start"),  # YAML 1.1 reads the integer 540
    ("    end: 17:00", "booking.availability.end"),
    ("    end: 1.5", "booking.availability.end"),
])
def test_a_window_time_not_written_as_hh_mm_is_refused_by_check_and_slots_alike(
        tmp_path: Path, capsys, line: str, field: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(_ZONED + line + "\n")
    check, check_err = _check(capsys, path)
    slots, slots_err = _slots(capsys, path)
    assert check == slots == 2
    assert f'{field}: ' in check_err and 'write it in quotes as "HH:MM"' in check_err
    assert slots_err == check_err


def test_a_quoted_time_without_a_leading_zero_is_read() -> None:
    availability = parse_campaign(_campaign(availability={"start": "9:00"})).booking.availability
    assert availability.start.hour == 9 and availability.start.tzinfo is None


@pytest.mark.parametrize(("field", "value"), [
    ("minimum_notice_minutes", 99_999_999_999_999), ("minimum_notice_minutes", 525_601),
    ("look_ahead_days", 366), ("meeting_length_minutes", 10**30),
    ("buffer_before_minutes", 24 * 60 + 1), ("slot_step_minutes", -5),
])
def test_every_number_is_bounded_to_what_makes_sense(field: str, value: int) -> None:
    assert f"booking.{field}" in _problems(_campaign(**{field: value}))


def test_a_huge_minimum_notice_is_refused_by_check_not_by_a_traceback_in_slots(
        tmp_path: Path, capsys) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(_ZONED + "  minimum_notice_minutes: 99999999999999\n")
    assert _check(capsys, path) == _slots(capsys, path)
    assert _check(capsys, path)[0] == 2


def test_a_campaign_name_longer_than_its_column_is_refused() -> None:
    assert "name" in _problems({"name": "x" * 256})


def test_booking_on_the_local_calendar_without_a_zone_is_refused_by_check(
        tmp_path: Path, capsys) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("name: x\nbooking:\n  enabled: true\n")
    code, err = _check(capsys, path)
    assert code == 2 and "booking.availability: " in err and "timezone" in err


def test_a_campaign_file_that_is_not_utf8_is_refused_naming_the_line(
        tmp_path: Path, capsys) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(b"name: x\nbusiness_name: M\xfcller\n")
    code, err = _check(capsys, path)
    assert code == 2 and "(file): line 2: not UTF-8 text (byte 0xfc)" in err


def test_a_deeply_nested_campaign_file_is_refused(tmp_path: Path, capsys) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("name: " + "[" * 50_000 + "]" * 50_000 + "\n")
    code, err = _check(capsys, path)
    assert code == 2 and "nested too deeply" in err


def test_a_directory_given_as_the_campaign_is_refused(tmp_path: Path, capsys) -> None:
    code, err = _check(capsys, tmp_path)
    assert code == 2 and "cannot read file" in err


# Unquoted YAML scalars an operator might write, including the ones YAML 1.1 turns into
# numbers, floats, booleans, dates or nothing.
_SCALARS = st.sampled_from([
    "9:00", "09:00", "'09:00'", "'9:00'", "17:00", "'17:00'", "24:00", "'25:00'", "1.5", "-1",
    "0", "30", "525600", "99999999999999999999", "1e400", ".inf", ".nan", "yes", "no", "~",
    "2026-01-01", "America/New_York", "Mars/Olympus", "[mon, tue]", "[funday]", "[]", "{}",
    "local", "outlook:work", "in_person", "video", "'{recipient.firstName}'", "'{oops'",
]) | st.integers(-10**6, 10**20).map(str) | st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=8).map(repr)
# Each field's plausible values (most of them valid), mixed with any scalar at all.
_PLAUSIBLE = {
    "enabled": ["true", "false"], "calendar": ["local", "outlook:work"],
    "meeting_length_minutes": ["30", "60", "0", "1441"], "buffer_before_minutes": ["0", "10"],
    "buffer_after_minutes": ["5", "-1"], "minimum_notice_minutes": ["120", "525600", "525601"],
    "look_ahead_days": ["1", "14", "365", "366"], "slot_step_minutes": ["15", "30", "0"],
    "meeting_type": ["video", "phone", "in_person"], "address": ["1 Main St", "''"],
    "timezone": ["America/New_York", "Asia/Kolkata", "UTC", "Asia/Calcutta"],
    "days": ["[mon, tue, wed, thu, fri]", "[sat]", "[mon, mon]"],
    "start": ["'09:00'", "9:00", "'9:00'", "08:30", "'13:00'"],
    "end": ["'17:00'", "17:00", "'23:59'", "1.5", "'12:00'"],
}


def _value(key: str) -> st.SearchStrategy[str]:
    return st.sampled_from(_PLAUSIBLE[key]) | _SCALARS


@st.composite
def _campaign_text(draw: st.DrawFn) -> str:
    lines = ["name: " + draw(st.sampled_from(["x", "x", "''", "[]"])), "booking:"]
    booking = [k for k in _PLAUSIBLE if k not in ("timezone", "days", "start", "end")]
    for key in draw(st.lists(st.sampled_from(booking), unique=True, max_size=3)):
        lines.append(f"  {key}: {draw(_value(key))}")
    lines.append("  availability:")
    lines.append(f"    timezone: {draw(_value('timezone'))}")
    for key in draw(st.lists(st.sampled_from(["days", "start", "end"]), unique=True)):
        lines.append(f"    {key}: {draw(_value(key))}")
    if draw(st.booleans()):
        lines.append(f"caller_hours: {{start: {draw(_SCALARS)}, end: {draw(_SCALARS)}}}")
    return "\n".join(lines) + "\n"


@given(text=_campaign_text())
@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_campaign_check_and_slots_agree_on_every_campaign_file(tmp_path, capsys, text):
    path = tmp_path / "any.yaml"
    path.write_text(text, encoding="utf-8")
    check, check_err = _check(capsys, path)
    slots, slots_err = _slots(capsys, path)
    assert check in (0, 2)
    if check == 2:
        # One validation path: slots refuses the same file with the same words.
        assert slots == 2 and slots_err == check_err
        assert all(line.startswith("  ") and ": " in line
                   for line in check_err.splitlines()[1:])
    else:
        # Valid means usable: slots lists slots, or asks for the zone only a calendar knows.
        assert slots == 0 or (slots == 2 and "no time zone" in slots_err), slots_err


@given(data=st.binary(max_size=200))
@example(data=b"\xff\xfe")
@example(data=b"a: &a [*a, *a]\n")
@example(data=b"name: x\n" + b"booking: " * 200)
@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_bytes_as_a_campaign_file_are_valid_or_refused_with_exit_2(tmp_path, capsys, data):
    path = tmp_path / "any.yaml"
    path.write_bytes(data)
    code, err = _check(capsys, path)
    assert code in (0, 2)
    assert code == 0 or err.startswith(f"{path}: invalid campaign\n")


def test_a_legacy_zone_name_is_kept_by_its_current_name() -> None:
    campaign = parse_campaign({"name": "x", "booking": {
        "availability": {"timezone": "Asia/Calcutta"}}})

    assert campaign.booking.availability.timezone == "Asia/Kolkata"
    assert parse_campaign({"name": "x", "booking": {"availability": {"timezone": "UTC"}}}
                          ).booking.availability.timezone == "UTC"
