"""The layout's rules, checked: every spoken sentence lives in prompts/, imports only go down."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CODE = ("app", "telephony", "agent", "caller_language", "calendar_backend", "storage")
# A sentence: a capital letter, at least three words, ending like speech ends.
SENTENCE = re.compile(r"^[A-Z][\w'’,\- ]+(?: [\w'’,\-]+){2,}[.!?]$")
# Calls whose string arguments are for operators or logs, never said to a caller.
NOT_SPOKEN = {"print", "warning", "info", "error", "debug", "exception", "add_argument",
              "add_parser", "ArgumentParser", "ValueError", "RuntimeError", "Field",
              "PlainTextResponse"}
# Constants written for someone other than the caller: the model's tool descriptions and the
# note a calendar sends when it withdraws an unconfirmed event.
NOT_SPOKEN_NAMES = {"_DESCRIPTIONS", "WITHDRAW_MESSAGE"}


def _called(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _spoken_literals(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and isinstance(
                body[0].value, ast.Constant):
            skip.add(id(body[0].value))  # docstrings
        targets = getattr(node, "targets", None) or [getattr(node, "target", None)]
        if isinstance(node, ast.Assign | ast.AnnAssign) and any(
                getattr(t, "id", None) in NOT_SPOKEN_NAMES for t in targets):
            skip.update(id(n) for n in ast.walk(node))
        if isinstance(node, ast.Raise) or (
                isinstance(node, ast.Call) and (_called(node) in NOT_SPOKEN
                                                or _called(node).endswith(("Error", "Invalid")))):
            skip.update(id(n) for n in ast.walk(node))
    return [
        f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        and id(node) not in skip and SENTENCE.match(node.value)
    ]


def test_no_sentence_the_agent_says_is_written_in_python_code() -> None:
    found = [hit for package in CODE for path in sorted((ROOT / package).rglob("*.py"))
             if "migrations" not in path.parts for hit in _spoken_literals(path)]
    assert found == [], "sentences belong in prompts/lines.j2:\n" + "\n".join(found)


def test_the_sentence_check_catches_a_sentence_in_code(tmp_path: Path) -> None:
    planted = ROOT / "agent" / "_planted_for_test.py"
    planted.write_text('def say() -> str:\n    return "Sorry, we are closed today."\n')
    try:
        assert _spoken_literals(planted) != []
    finally:
        planted.unlink()


def test_an_upward_import_breaks_the_layers_contract() -> None:
    lint = [str(Path(sys.executable).with_name("lint-imports"))]
    assert subprocess.run(lint, cwd=ROOT, capture_output=True).returncode == 0
    planted = ROOT / "caller_language" / "_planted_for_test.py"
    planted.write_text("import agent.tools  # noqa: F401\n")
    try:
        result = subprocess.run(lint, cwd=ROOT, capture_output=True, text=True)
        assert result.returncode != 0 and "caller_language._planted_for_test" in result.stdout
    finally:
        planted.unlink()
