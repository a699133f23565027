"""The dialling queue's commands: queue a list, follow and pause it, the do-not-call list, and
a worker that cannot run says why (never a traceback)."""

from __future__ import annotations

import pytest

from app.cli import main
from app.settings import get_settings
from storage.database import open_database
from telephony.do_not_call import listed_numbers

CAMPAIGN_YAML = ("name: renewals\nphone_numbers: ['+14155550100']\n"
                 "dialling:\n  calling_hours: {start: '00:00', end: '23:59'}\n"
                 "  max_attempts: 2\n")


@pytest.fixture
def env(tmp_path, monkeypatch):
    """Settings for the commands: an SQLite file in tmp_path, a public URL, no Twilio keys."""
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "OPENAI_API_KEY", "INSTANCE"):
        monkeypatch.delenv(f"BOOKING_AGENT_{name}", raising=False)
    url = f"sqlite:///{tmp_path / 'queue.db'}"
    monkeypatch.setenv("BOOKING_AGENT_DATABASE_URL", url)
    monkeypatch.setenv("BOOKING_AGENT_PUBLIC_URL", "https://agent.example")
    get_settings.cache_clear()
    (tmp_path / "campaign.yaml").write_text(CAMPAIGN_YAML)
    (tmp_path / "contacts.csv").write_text(
        "first_name,phone,zone\nAnn,+12125550101,Asia/Tokyo\nBo,+12125550102,\n")
    yield tmp_path, url
    get_settings.cache_clear()


def test_a_queued_list_shows_its_progress_and_can_be_paused(env, capsys):
    assert main(["campaign", "enqueue", "campaign.yaml", "--contacts", "contacts.csv"]) == 0
    assert "2 contacts (2 new) queued for campaign 'renewals'" in capsys.readouterr().out
    assert main(["campaign", "enqueue", "campaign.yaml", "--contacts", "contacts.csv"]) == 0
    assert "(0 new)" in capsys.readouterr().out
    assert main(["campaign", "pause", "renewals"]) == 0
    assert "'renewals' (paused): 2 contacts: queued 2" in capsys.readouterr().out
    assert main(["campaign", "progress", "nobody"]) == 2
    assert "not queued" in capsys.readouterr().err


def test_a_contact_list_naming_an_unknown_zone_queues_nobody(env, capsys):
    tmp_path, url = env
    (tmp_path / "bad.csv").write_text("phone,zone\n+12125550101,Mars/Olympus\n")
    assert main(["campaign", "enqueue", "campaign.yaml", "--contacts", "bad.csv"]) == 2
    assert "unknown time zone 'Mars/Olympus'" in capsys.readouterr().err
    assert main(["campaign", "progress", "renewals"]) == 2


def test_do_not_call_import_takes_a_whole_file_or_nothing(env, capsys):
    tmp_path, url = env
    (tmp_path / "bad.txt").write_text("+12125550101\nnot a number\n")
    assert main(["dnc", "import", "bad.txt"]) == 2
    assert "line 2" in capsys.readouterr().err
    database = open_database(url)
    assert listed_numbers(database) == []
    (tmp_path / "dnc.csv").write_text("phone,name\n# from the old CRM\n+1 212 555 0101,Ann\n"
                                      "+12125550102,Bo\n+12125550101,Ann again\n")
    assert main(["dnc", "import", "dnc.csv"]) == 0
    assert "3 numbers read, 2 new" in capsys.readouterr().out
    assert listed_numbers(database) == ["+12125550101", "+12125550102"]
    assert main(["dnc", "list"]) == 0
    assert capsys.readouterr().out.split() == ["+12125550101", "+12125550102"]


def test_a_worker_without_a_twilio_account_says_what_to_set(env, capsys):
    assert main(["worker"]) == 2
    assert "BOOKING_AGENT_TWILIO_ACCOUNT_SID" in capsys.readouterr().err
