"""Table-driven spoken e-mail cases (tests/email_cases.yaml): captured or refused with a reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from caller_language.email import EmailNotUnderstood, nato_readback, parse_spoken_email

CASES: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parent / "email_cases.yaml").read_text(encoding="utf-8")
)
CAPTURED = [case for case in CASES if "address" in case]
REFUSED = [case for case in CASES if "refused" in case]


def test_the_table_is_big_enough_and_well_formed() -> None:
    assert len(CASES) >= 80
    assert len(REFUSED) >= 15
    assert len(CAPTURED) + len(REFUSED) == len(CASES)
    assert len({case["said"] for case in CASES}) == len(CASES), "duplicate transcripts"


@pytest.mark.parametrize("case", CAPTURED, ids=[case["said"] for case in CAPTURED])
def test_the_caller_s_address_is_captured_and_read_back(case: dict[str, Any]) -> None:
    address = parse_spoken_email(case["said"])
    assert address == case["address"]
    assert parse_spoken_email(nato_readback(address)) == address


@pytest.mark.parametrize("case", REFUSED, ids=[case["said"] or "(silence)" for case in REFUSED])
def test_the_agent_gets_a_reason_to_ask_again(case: dict[str, Any]) -> None:
    with pytest.raises(EmailNotUnderstood) as refused:
        parse_spoken_email(case["said"])
    assert refused.value.reason == case["refused"]
