"""``booking-agent test-call`` interactive: the operator types as the caller."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _interactive(typed: str, *extra: str) -> subprocess.CompletedProcess[str]:
    # A clean environment: no keys, and a throwaway home for the embedded database.
    with tempfile.TemporaryDirectory() as home:
        return subprocess.run(
            [sys.executable, "-m", "app.cli", "test-call", "--campaign",
             "examples/campaigns/demo.yaml", "--caller", "+12125550100", "--name", "Sam", *extra],
            input=typed, capture_output=True, text=True, cwd=ROOT, timeout=120,
            env={"PATH": "/usr/bin:/bin", "HOME": home},
        )


def test_operator_types_as_the_caller_and_the_agent_lines_print() -> None:
    done = _interactive("yes\nsam at example dot com\nyes\nyes\nno thanks, bye\n")
    assert done.returncode == 0, done.stderr
    lines = [ln for ln in done.stdout.splitlines() if "Agent:" in ln]
    assert "Agent: Hi Sam, this is Alex from Northwind Consulting." in lines[0]
    assert "S as in Sierra, A as in Alpha, M as in Mike" in lines[2]
    assert "Booked for" in lines[4]
    assert lines[-1].endswith("Goodbye!")
    assert "Outcome: booked" in done.stdout


def test_the_clock_can_be_set_for_a_repeatable_demo() -> None:
    done = _interactive("yes\nsam at example dot com\nyes\n", "--now", "2026-12-01T14:00:00Z")
    assert done.returncode == 0, done.stderr
    assert "I can do today at 11 AM Eastern. Does that work?" in done.stdout
    assert "Outcome: hung_up" in done.stdout


def test_end_of_input_hangs_up() -> None:
    done = _interactive("")
    assert done.returncode == 0, done.stderr
    assert "Outcome: hung_up" in done.stdout


def test_an_invalid_campaign_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "c.yaml"
    bad.write_text("name: ''\n")
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "test-call", "--campaign", str(bad)],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )
    assert done.returncode == 2
    assert "name" in done.stderr
