"""The one place a pydantic ``ValidationError`` becomes words for an operator."""

from __future__ import annotations

from pydantic import ValidationError


def validation_problems(error: ValidationError) -> list[tuple[str, str]]:
    """Each problem of ``error`` as (dotted field path, message), in the order found."""
    problems = []
    for item in error.errors():
        path = ".".join(str(part) for part in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown field"
        problems.append((path, message))
    return problems


def problem_lines(error: ValidationError, indent: str = "  ") -> str:
    """Every problem of ``error`` on its own line: ``path: message`` (``(file)`` for the root)."""
    return "\n".join(
        f"{indent}{path or '(file)'}: {message}" for path, message in validation_problems(error)
    )
