"""Campaign files: the YAML an operator writes, validated whole before anything uses it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agent.phone_numbers import e164
from calendar_backend.booking_settings import BookingSettings


class CampaignInvalid(ValueError):
    """A campaign that cannot be used, with every problem found listed by field path."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {path or '(file)'}: {message}" for path, message in problems)
        super().__init__(f"{source}: invalid campaign\n{lines}")


class Campaign(BaseModel):
    """One calling campaign: who is calling, why, which numbers it answers, and how it books."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    business_name: str = "our team"
    agent_name: str = "Alex"
    purpose: str = "a short introductory call"
    phone_numbers: list[str] = Field(default_factory=list)
    booking: BookingSettings = Field(default_factory=BookingSettings)

    @field_validator("phone_numbers")
    @classmethod
    def _e164(cls, numbers: list[str]) -> list[str]:
        return [e164(raw) for raw in numbers]


def _problems(error: ValidationError) -> list[tuple[str, str]]:
    problems = []
    for item in error.errors():
        path = ".".join(str(part) for part in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown field"
        problems.append((path, message))
    return problems


def parse_campaign(data: Any, source: str = "<campaign>") -> Campaign:
    """Validate a campaign mapping; raises :class:`CampaignInvalid` listing every problem."""
    if not isinstance(data, dict):
        raise CampaignInvalid(source, [("", "a campaign must be a mapping of fields")])
    try:
        return Campaign.model_validate(data)
    except ValidationError as exc:
        raise CampaignInvalid(source, _problems(exc)) from None


def load_campaign(path: str | Path) -> Campaign:
    """Read and validate a campaign YAML file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CampaignInvalid(str(path), [("", f"cannot read file: {exc.strerror}")]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CampaignInvalid(str(path), [("", f"not valid YAML: {exc}")]) from None
    return parse_campaign(data, str(path))
