"""Campaign files: the YAML an operator writes, validated whole before anything uses it.

Every problem is reported by field path (``booking.availability.start: ...``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agent.campaign import Campaign
from app.input_files import InputError, parse_yaml, read_text
from app.validation import validation_problems


class CampaignInvalid(ValueError):
    """A campaign that cannot be used, with every problem found listed by field path."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {path or '(file)'}: {message}" for path, message in problems)
        super().__init__(f"{source}: invalid campaign\n{lines}")


def parse_campaign(data: Any, source: str = "<campaign>") -> Campaign:
    """Validate a campaign mapping; raises :class:`CampaignInvalid` listing every problem."""
    if not isinstance(data, dict):
        raise CampaignInvalid(source, [("", "a campaign must be a mapping of fields")])
    try:
        return Campaign.model_validate(data)
    except ValidationError as exc:
        raise CampaignInvalid(source, validation_problems(exc)) from None


def load_campaign(path: str | Path) -> Campaign:
    """Read and validate a campaign YAML file."""
    try:
        data = parse_yaml(read_text(path))
    except InputError as exc:
        raise CampaignInvalid(str(path), [("", str(exc))]) from None
    return parse_campaign(data, str(path))
