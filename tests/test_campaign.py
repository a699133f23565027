"""Campaign files: valid ones load, invalid ones are refused whole with every problem listed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

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
