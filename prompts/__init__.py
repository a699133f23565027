"""Prompt templates for the dialogue (Jinja2 files beside this module).

``system.j2`` is the LLM's system prompt; ``lines.j2`` holds every sentence the agent says
itself (the guided policy's lines and the words tool results carry), one macro per line.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

_DIR = Path(__file__).parent


@lru_cache(maxsize=1)
def _environment() -> Environment:
    # Plain text out (spoken or sent to the model), so no HTML autoescaping; a missing field is an
    # error rather than a silent blank in the middle of a sentence.
    return Environment(
        loader=FileSystemLoader(_DIR),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=False,
    )


def _tidy(text: str) -> str:
    # Template logic leaves blank runs behind; keep single blank lines between paragraphs.
    lines = [raw.rstrip() for raw in text.strip().splitlines()]
    out: list[str] = []
    for current in lines:
        if current or (out and out[-1]):
            out.append(current)
    return "\n".join(out)


def render(name: str, **fields: Any) -> str:
    """Render the template file ``name`` (e.g. ``"system.j2"``) with ``fields``."""
    return _tidy(_environment().get_template(name).render(**fields))


def line(name: str, **fields: Any) -> str:
    """One sentence the agent says: the macro ``name`` of ``lines.j2`` called with ``fields``."""
    module = _environment().get_template("lines.j2").module
    macro = getattr(module, name, None)
    if macro is None:
        raise KeyError(f"no line {name!r} in prompts/lines.j2")
    return " ".join(str(macro(**fields)).split())
