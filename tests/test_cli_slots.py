"""``booking-agent slots``: what an operator sees when checking which slots a campaign offers."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.cli import main

ROOT = Path(__file__).resolve().parents[1]
DEMO = str(ROOT / "examples" / "campaigns" / "demo.yaml")
# Monday 30 November 2026, 07:00 in New York: the demo's 2-hour notice allows 09:00 onwards.
MONDAY_7AM = "2026-11-30T07:00:00-05:00"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["slots", "--campaign", DEMO, *args])
    out, err = capsys.readouterr()
    return code, out, err


def write(tmp_path: Path, text: str, name: str = "busy.json") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_json_lists_slots_in_utc_with_the_owner_local_start(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "--now", MONDAY_7AM, "--json", "--limit", "3")
    assert code == 0
    assert json.loads(out) == [
        {
            "start": "2026-11-30T14:00:00Z",
            "end": "2026-11-30T14:30:00Z",
            "local_start": "2026-11-30T09:00:00-05:00",
        },
        {
            "start": "2026-11-30T14:30:00Z",
            "end": "2026-11-30T15:00:00Z",
            "local_start": "2026-11-30T09:30:00-05:00",
        },
        {
            "start": "2026-11-30T15:00:00Z",
            "end": "2026-11-30T15:30:00Z",
            "local_start": "2026-11-30T10:00:00-05:00",
        },
    ]


def test_human_table_shows_owner_time_and_utc(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--now", MONDAY_7AM, "--limit", "2")
    assert code == 0
    lines = out.splitlines()
    assert "spring-outreach" in lines[0] and "30-minute" in lines[0]
    assert lines[1].split() == ["Owner", "time", "(America/New_York)", "UTC"]
    assert lines[2].split() == [
        "Mon",
        "2026-11-30",
        "09:00-09:30",
        "EST",
        "2026-11-30",
        "14:00-14:30",
        "UTC",
    ]
    assert lines[3].split()[2] == "09:30-10:00"
    assert len(lines) == 4


def test_whole_look_ahead_is_listed_without_limit(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--now", MONDAY_7AM, "--json")
    slots = json.loads(out)
    # 14 days from Monday: 10 weekdays of 16 half-hour slots each.
    assert code == 0 and len(slots) == 10 * 16
    assert slots[-1]["local_start"] == "2026-12-11T16:30:00-05:00"


def test_minimum_notice_counts_from_now(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--now", "2026-11-30T15:00:00Z", "--json", "--limit", "1")
    assert code == 0
    assert json.loads(out)[0]["local_start"] == "2026-11-30T12:00:00-05:00"  # 10:00 + 2 h


def test_busy_file_removes_slots_and_its_buffer(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    busy = write(
        tmp_path,
        json.dumps(
            [
                {"start": "2026-11-30T09:00:00-05:00", "end": "2026-11-30T10:00:00-05:00"},
                {"start": "2026-11-30T16:05:00Z", "end": "2026-11-30T16:20:00Z"},
            ]
        ),
    )
    code, out, _ = run(capsys, "--now", MONDAY_7AM, "--busy", busy, "--json", "--limit", "2")
    assert code == 0
    # Busy 11:05-11:20: the 10:30 meeting would end at 11:00, but its 10-minute buffer
    # after reaches 11:10, so it is not offered; 11:00 overlaps outright.
    assert [s["local_start"] for s in json.loads(out)] == [
        "2026-11-30T10:00:00-05:00",
        "2026-11-30T11:30:00-05:00",
    ]


def test_no_slots_says_so(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    everything = [{"start": "2026-11-01T00:00:00Z", "end": "2027-01-01T00:00:00Z"}]
    busy = write(tmp_path, json.dumps(everything))
    code, out, _ = run(capsys, "--now", MONDAY_7AM, "--busy", busy)
    assert code == 0
    assert out.splitlines()[-1] == "No free slots in the next 14 day(s)."
    code, out, _ = run(capsys, "--now", MONDAY_7AM, "--busy", busy, "--json")
    assert json.loads(out) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[{", "not valid JSON"),
        ('{"start": "2026-11-30T09:00:00Z"}', "must be a list"),
        ('[{"start": "2026-11-30T09:00:00Z"}]', "0.end: Field required"),
        ('[{"start": "2026-11-30T09:00:00", "end": "2026-11-30T10:00:00"}]', "timezone"),
        ('[{"start": "tomorrow", "end": "2026-11-30T10:00:00Z"}]', "0.start"),
        (
            '[{"start": "2026-11-30T10:00:00Z", "end": "2026-11-30T09:00:00Z"}]',
            "entry 0: end 2026-11-30T09:00:00+00:00 is not after start",
        ),
        ('[{"start": "2026-11-30T10:00:00Z", "end": "2026-11-30T11:00:00Z", "x": 1}]', "0.x"),
    ],
)
def test_bad_busy_file_is_refused_with_the_reason(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str, message: str
) -> None:
    busy = write(tmp_path, content)
    code, out, err = run(capsys, "--now", MONDAY_7AM, "--busy", busy)
    assert code == 2
    assert out == ""
    assert busy in err and message in err


def test_missing_busy_file_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "--now", MONDAY_7AM, "--busy", str(tmp_path / "nope.json"))
    assert code == 2
    assert "busy file: cannot read file" in err


@pytest.mark.parametrize(
    ("now", "message"),
    [
        ("2026-11-30T07:00:00", "has no UTC offset"),
        ("next monday", "is not an ISO-8601 date and time"),
    ],
)
def test_now_must_name_its_offset(
    capsys: pytest.CaptureFixture[str], now: str, message: str
) -> None:
    code, out, err = run(capsys, "--now", now)
    assert code == 2 and out == ""
    assert message in err


def test_invalid_campaign_prints_every_problem_and_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    campaign = write(
        tmp_path,
        "name: broken\nbooking:\n  meeting_length_minutes: 0\n"
        "  availability: {timezone: Mars/Olympus, start: '17:00', end: '09:00'}\n",
        "broken.yaml",
    )
    code = main(["slots", "--campaign", campaign])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.startswith(f"{campaign}: invalid campaign")
    assert "booking.meeting_length_minutes" in err
    assert "booking.availability.timezone: unknown time zone 'Mars/Olympus'" in err
    assert "windows crossing midnight are not supported" in err


def test_campaign_without_any_zone_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    campaign = write(tmp_path, "name: zoneless\nbooking:\n  enabled: true\n", "zoneless.yaml")
    code = main(["slots", "--campaign", campaign])
    _, err = capsys.readouterr()
    assert code == 2
    assert "booking.availability.timezone" in err


def test_booking_turned_off_is_noted_but_slots_are_still_shown(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = Path(DEMO).read_text(encoding="utf-8").replace("enabled: true", "enabled: false")
    campaign = write(tmp_path, text, "off.yaml")
    code = main(["slots", "--campaign", campaign, "--now", MONDAY_7AM, "--json", "--limit", "1"])
    out, err = capsys.readouterr()
    assert code == 0
    assert "booking is off" in err
    assert len(json.loads(out)) == 1


def test_limit_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["slots", "--campaign", DEMO, "--limit", "0"])
    assert caught.value.code == 2
    assert "--limit: must be at least 1" in capsys.readouterr().err


def test_now_defaults_to_the_current_time(capsys: pytest.CaptureFixture[str]) -> None:
    before = datetime.now(UTC)
    code, out, _ = run(capsys, "--json", "--limit", "1")
    assert code == 0
    first = datetime.fromisoformat(json.loads(out)[0]["start"])
    assert before + timedelta(hours=2) <= first < before + timedelta(days=14)


def test_installed_command_prints_json() -> None:
    command = Path(sys.executable).with_name("booking-agent")
    result = subprocess.run(
        [str(command), "slots", "--campaign", DEMO, "--now", MONDAY_7AM, "--json", "--limit", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        {
            "start": "2026-11-30T14:00:00Z",
            "end": "2026-11-30T14:30:00Z",
            "local_start": "2026-11-30T09:00:00-05:00",
        }
    ]


@pytest.mark.parametrize(
    "now", ["9999-12-31T23:00:00+00:00", "0001-01-01T00:00:00+05:00", "0001-01-01T00:00:00Z"]
)
def test_now_at_the_ends_of_the_datetime_range_is_refused(
    capsys: pytest.CaptureFixture[str], now: str
) -> None:
    code, out, err = run(capsys, "--now", now)
    assert code == 2 and out == ""
    assert f"--now {now!r} is out of range: use a year from 1900 to 8999" in err


@pytest.mark.parametrize(
    "span",
    [
        {"start": "0001-01-01T00:00:00+05:00", "end": "2026-01-01T00:00:00Z"},
        {"start": "2026-01-01T00:00:00Z", "end": "9999-12-31T23:59:59-05:00"},
    ],
)
def test_busy_times_at_the_ends_of_the_datetime_range_are_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, span: dict[str, str]
) -> None:
    busy = write(tmp_path, json.dumps([span]))
    code, _, err = run(capsys, "--now", MONDAY_7AM, "--busy", busy)
    assert code == 2
    assert "is out of range: use a year from 1900 to 8999" in err


def test_busy_file_not_utf8_or_nested_too_deeply_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    latin1 = tmp_path / "latin1.json"
    latin1.write_bytes(b'[{"start": "2026-11-30T09:00:00Z", "end": "\xe9"}]')
    code, _, err = run(capsys, "--busy", str(latin1))
    assert code == 2 and "line 1: not UTF-8 text (byte 0xe9)" in err
    nested = write(tmp_path, "[" * 100_000 + "]" * 100_000, "nested.json")
    code, _, err = run(capsys, "--busy", nested)
    assert code == 2 and "nested too deeply" in err


def test_slots_process_refuses_an_out_of_range_now_without_a_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "slots", "--campaign", DEMO,
         "--now", "9999-12-31T23:59:59-05:00"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "out of range" in result.stderr


_ANY_INSTANT = st.datetimes(timezones=st.timezones()).map(datetime.isoformat)


@given(now=st.one_of(_ANY_INSTANT, st.datetimes().map(datetime.isoformat), st.text(max_size=30)))
@example(now="9999-12-31T23:59:59.999999-23:59")
@example(now="0001-01-01T00:00:00+23:59")
@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_now_lists_slots_or_is_refused_naming_now(
    capsys: pytest.CaptureFixture[str], now: str
) -> None:
    if now.startswith("-"):
        now = " " + now  # argparse would take it for an option
    code, _, err = run(capsys, "--now", now, "--limit", "2")
    assert code == 0 or (code == 2 and "--now" in err), err


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
    | _ANY_INSTANT,
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(["start", "end", "x"]), inner, max_size=3),
    max_leaves=10,
)
_SPAN = st.fixed_dictionaries({"start": _ANY_INSTANT, "end": _ANY_INSTANT})


@given(busy=st.one_of(_JSON, st.lists(_SPAN, max_size=4)))
@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_busy_file_lists_slots_or_is_refused_naming_the_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, busy: object
) -> None:
    path = write(tmp_path, json.dumps(busy), "any-busy.json")
    code, _, err = run(capsys, "--now", MONDAY_7AM, "--busy", path, "--limit", "2")
    assert code == 0 or (code == 2 and path in err), err
