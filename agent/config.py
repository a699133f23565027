"""What the dialogue needs from the outside world, handed down by the application shell."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class LLMConfig:
    """An OpenAI-compatible chat model for the dialogue (no config: the guided policy talks)."""

    api_key: str
    base_url: str | None
    model: str
    # How long the model may stay silent before the guided policy answers the turn.
    timeout_seconds: float
