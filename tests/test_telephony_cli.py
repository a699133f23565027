"""The phone commands: serve's refusals, call records on screen, dialling a list."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from app.settings import get_settings
from storage.database import open_database
from telephony.call_records import (
    FollowUps,
    TurnLatency,
    record_call_finished,
    record_call_started,
)
from telephony.outbound import dial_list
from tests.fakes.loopback import free_port
from tests.fakes.twilio_server import TwilioEmulator

ROOT = Path(__file__).resolve().parents[1]

CAMPAIGN_YAML = "name: renewals\nphone_numbers: ['+14155550100']\n"


@pytest.fixture
def env(tmp_path, monkeypatch):
    """Settings for the commands: an SQLite file in tmp_path, no keys."""
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("PUBLIC_URL", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "OPENAI_API_KEY"):
        monkeypatch.delenv(f"BOOKING_AGENT_{name}", raising=False)
    url = f"sqlite:///{tmp_path / 'calls.db'}"
    monkeypatch.setenv("BOOKING_AGENT_DATABASE_URL", url)
    get_settings.cache_clear()
    (tmp_path / "campaign.yaml").write_text(CAMPAIGN_YAML)
    yield tmp_path, url
    get_settings.cache_clear()


def test_serve_refuses_to_start_without_a_public_url(env, capsys):
    assert main(["serve", "--campaign", "campaign.yaml"]) == 2
    assert "BOOKING_AGENT_PUBLIC_URL" in capsys.readouterr().err


def test_calls_show_prints_transcript_bookings_and_latency(env, capsys):
    _, url = env
    database = open_database(url)
    record_call_started(database, "CA1", campaign="renewals", direction="inbound",
                        caller_number="+12125550123", our_number="+14155550100")
    record_call_finished(
        database, "CA1", outcome="booked",
        transcript=[{"role": "agent", "text": "Hi"}, {"role": "caller", "text": "yes"}],
        tool_calls=[{"name": "book_slot", "arguments": {"slot_id": "slot-1"}}],
        bookings=[{"id": "b1", "status": "confirmed", "attendee_email": "a@example.com",
                   "slot": {"start": "2026-12-01T16:00:00+00:00"}}],
        turn_latencies=[TurnLatency(total_ms=900, stt_ms=500, dialogue_ms=100, tools_ms=200,
                                    tts_ms=100)])
    assert main(["calls", "list"]) == 0
    listing = capsys.readouterr().out
    assert "CA1" in listing and "booked" in listing
    assert main(["calls", "show", "CA1"]) == 0
    shown = capsys.readouterr().out
    assert "caller: yes" in shown and "book_slot" in shown and "a@example.com" in shown
    assert "900 = 500 + 100 + 200 + 100" in shown
    assert main(["calls", "show", "CA1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["outcome"] == "booked"
    assert main(["calls", "show", "CA404"]) == 1


def test_campaign_dial_calls_each_contact_once_across_runs(env, monkeypatch, capsys):
    tmp_path, _ = env
    twilio = TwilioEmulator().start()
    try:
        monkeypatch.setenv("BOOKING_AGENT_PUBLIC_URL", "https://calls.example.com")
        monkeypatch.setenv("BOOKING_AGENT_TWILIO_ACCOUNT_SID", twilio.account_sid)
        monkeypatch.setenv("BOOKING_AGENT_TWILIO_AUTH_TOKEN", twilio.auth_token)
        monkeypatch.setenv("BOOKING_AGENT_TWILIO_API_URL", twilio.base_url)
        get_settings.cache_clear()
        (tmp_path / "contacts.csv").write_text(
            "first_name,phone\nAnn,+12125550101\nBo,+12125550102\n")
        args = ["campaign", "dial", "campaign.yaml", "--contacts", "contacts.csv",
                "--pace", "0"]
        assert main(args) == 0
        assert main(args) == 0  # run again: nobody is called a second time
        out = capsys.readouterr().out
        assert "2 contacts (2 new)" in out and "2 contacts (0 new)" in out
        created = [form for kind, _, form in twilio.requests if kind == "create"]
        assert sorted(f["To"] for f in created) == ["+12125550101", "+12125550102"]
        assert "name=Ann" in next(f["Url"] for f in created if f["To"] == "+12125550101")
    finally:
        twilio.stop()


def test_campaign_dial_reports_every_bad_contact_row(env, capsys):
    tmp_path, _ = env
    (tmp_path / "contacts.csv").write_text("phone\n+12125550101\nnope\n")
    assert main(["campaign", "dial", "campaign.yaml", "--contacts", "contacts.csv"]) == 2
    assert "row 3" in capsys.readouterr().err


def test_calls_show_prints_the_follow_ups_a_call_asked_for(env, capsys):
    _, url = env
    database = open_database(url)
    record_call_started(database, "CA2", campaign="renewals", direction="outbound",
                        caller_number="+12125550123", our_number="+14155550100")
    record_call_finished(
        database, "CA2", outcome="declined",
        transcript=[{"role": "caller", "text": "im driving call me back tomorrow morning"}],
        tool_calls=[], bookings=[], turn_latencies=[],
        follow_ups=FollowUps(call_back_requested=True, call_back_when="tomorrow morning"))
    assert main(["calls", "show", "CA2"]) == 0
    assert "follow-up: call back tomorrow morning" in capsys.readouterr().out
    assert main(["calls", "show", "CA2", "--json"]) == 0
    follow_ups = json.loads(capsys.readouterr().out)["follow_ups"]
    assert follow_ups == {"call_back_requested": True, "call_back_when": "tomorrow morning",
                          "do_not_call": False, "human_follow_up": False}


def _twilio_env(monkeypatch, api_url: str, account_sid: str = "AC" + "1" * 32,
                auth_token: str = "test-auth-token") -> None:
    monkeypatch.setenv("BOOKING_AGENT_PUBLIC_URL", "https://calls.example.com")
    monkeypatch.setenv("BOOKING_AGENT_TWILIO_ACCOUNT_SID", account_sid)
    monkeypatch.setenv("BOOKING_AGENT_TWILIO_AUTH_TOKEN", auth_token)
    monkeypatch.setenv("BOOKING_AGENT_TWILIO_API_URL", api_url)
    get_settings.cache_clear()


def _contacts(url: str) -> list[tuple[str, str, int]]:
    database = open_database(url)
    try:
        return [(row.phone, row.state, row.attempts) for row in dial_list(database, "renewals")]
    finally:
        database.dispose()


def test_campaign_dial_without_a_caller_id_is_refused_before_any_contact_is_touched(
        env, monkeypatch, capsys):
    tmp_path, url = env
    _twilio_env(monkeypatch, f"http://127.0.0.1:{free_port()}")
    (tmp_path / "no-numbers.yaml").write_text("name: renewals\n")
    (tmp_path / "contacts.csv").write_text("phone\n+12125550101\n+12125550102\n")
    args = ["campaign", "dial", "no-numbers.yaml", "--contacts", "contacts.csv", "--pace", "0"]
    assert main(args) == 2
    assert "pass --from" in capsys.readouterr().err
    assert main([*args, "--from", "not a number"]) == 2
    assert "--from 'not a number'" in capsys.readouterr().err
    assert _contacts(url) == []  # nothing added, nothing claimed, nothing failed


def test_campaign_dial_with_twilio_unreachable_exits_1_touching_no_contact(
        env, monkeypatch, capsys):
    tmp_path, url = env
    _twilio_env(monkeypatch, f"http://127.0.0.1:{free_port()}")  # nothing listens there
    (tmp_path / "contacts.csv").write_text("phone\n+12125550101\n")
    assert main(["campaign", "dial", "campaign.yaml", "--contacts", "contacts.csv"]) == 1
    assert "nobody called: cannot reach the Twilio API" in capsys.readouterr().err
    assert _contacts(url) == []


@pytest.mark.parametrize(("token", "status", "message"), [
    ("not-the-token", "active", "Twilio refused account"),
    ("test-auth-token", "suspended", "is suspended: it cannot place calls"),
])
def test_campaign_dial_with_an_account_twilio_refuses_exits_2_touching_no_contact(
        env, monkeypatch, capsys, token, status, message):
    tmp_path, url = env
    (tmp_path / "contacts.csv").write_text("phone\n+12125550101\n")
    twilio = TwilioEmulator().start()
    try:
        twilio.account_status = status
        _twilio_env(monkeypatch, twilio.base_url, twilio.account_sid, token)
        assert main(["campaign", "dial", "campaign.yaml", "--contacts", "contacts.csv"]) == 2
        assert message in capsys.readouterr().err
        assert twilio.calls == {}
    finally:
        twilio.stop()
    assert _contacts(url) == []


def test_campaign_dial_in_a_twilio_outage_exits_1_and_a_rerun_calls_everyone_once(
        env, monkeypatch, capsys):
    tmp_path, url = env
    (tmp_path / "contacts.csv").write_text("phone\n+12125550101\n+12125550102\n")
    args = ["campaign", "dial", "campaign.yaml", "--contacts", "contacts.csv", "--pace", "0"]
    twilio = TwilioEmulator().start()
    try:
        _twilio_env(monkeypatch, twilio.base_url, twilio.account_sid, twilio.auth_token)
        twilio.create_fails_with = 503
        assert main(args) == 1
        err = capsys.readouterr().err
        assert "the Twilio API answered 503" in err and "+12125550101 is back on the list" in err
        assert _contacts(url) == [("+12125550101", "pending", 1), ("+12125550102", "pending", 0)]
        assert main(args) == 1  # still out: the next contact meets it, no one is stranded
        assert _contacts(url) == [("+12125550101", "pending", 1), ("+12125550102", "pending", 1)]
        twilio.create_fails_with = None
        assert main(args) == 0
        assert sorted(c.to for c in twilio.calls.values()) == ["+12125550101", "+12125550102"]
    finally:
        twilio.stop()
    assert {state for _, state, _ in _contacts(url)} == {"dialled"}


def test_campaign_dial_process_reports_an_unreachable_api_without_a_traceback(env):
    tmp_path, url = env
    (tmp_path / "contacts.csv").write_text("phone\n+12125550101\n")
    environment = {
        **os.environ, "BOOKING_AGENT_DATABASE_URL": url,
        "BOOKING_AGENT_PUBLIC_URL": "https://calls.example.com",
        "BOOKING_AGENT_TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
        "BOOKING_AGENT_TWILIO_AUTH_TOKEN": "test-auth-token",
        "BOOKING_AGENT_TWILIO_API_URL": f"http://127.0.0.1:{free_port()}",
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "campaign", "dial", "campaign.yaml",
         "--contacts", "contacts.csv", "--pace", "0"],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "nobody called: cannot reach the Twilio API" in done.stderr
    assert _contacts(url) == []


def test_call_with_twilio_unreachable_says_the_call_was_not_placed(env, monkeypatch, capsys):
    _twilio_env(monkeypatch, f"http://127.0.0.1:{free_port()}")
    assert main(["call", "+12125550101", "--campaign", "campaign.yaml"]) == 1
    assert "the call was not placed: cannot reach the Twilio API" in capsys.readouterr().err


@pytest.mark.parametrize("pace", ["nan", "inf", "-1", "soon"])
def test_campaign_dial_refuses_a_pace_that_is_not_a_sane_number_of_seconds(env, capsys, pace):
    _, url = env
    (env[0] / "contacts.csv").write_text("phone\n+12125550101\n")
    with pytest.raises(SystemExit) as caught:
        main(["campaign", "dial", "campaign.yaml", "--contacts", "contacts.csv", "--pace", pace])
    assert caught.value.code == 2
    assert "--pace" in capsys.readouterr().err
    assert _contacts(url) == []
