"""A language's words live in its own folder, each list written once.

The readers of ``caller_language`` take every word from the language's Vocabulary
(``caller_language.en.ENGLISH``); a word list written anywhere else is a second copy that a new
language would have to find and translate.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from caller_language.en import ENGLISH
from caller_language.spelling import NATO_WORDS, NUMBER_WORDS
from caller_language.time_phrases import say_date, say_time

ROOT = Path(__file__).resolve().parent.parent
READERS = sorted((ROOT / "caller_language").glob("*.py"))
RECOGNISER = ROOT / "telephony" / "stt_pocketsphinx.py"
LIST_SIZE = 5  # this many words in one literal is a word list
_WORD = re.compile(r"[a-z][a-z' -]*")
# Literals of lower-case strings that are no language's words, with the reason.
LANGUAGE_FREE = {
    ("email.py", "_SECOND_LEVEL"),  # DNS second-level labels ("co" in co.uk), not words
}


def _strings(nodes: list[ast.expr | None]) -> list[str]:
    return [
        node.value
        for node in nodes
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and _WORD.fullmatch(node.value)
    ]


def _words_in(node: ast.AST) -> list[str]:
    """The word strings a literal (or a call spelling out phrases) lists."""
    if isinstance(node, ast.List | ast.Set | ast.Tuple):
        return _strings(list(node.elts))
    if isinstance(node, ast.Dict):
        # A table maps words to data; a dict built from expressions (keyword arguments) is not.
        if all(isinstance(v, ast.Constant | ast.Tuple) for v in node.values):
            return _strings(list(node.keys))
        return []
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Attribute) and node.func.attr == "split":
            if isinstance(node.func.value, ast.Constant) and isinstance(node.func.value.value, str):
                return [w for w in node.func.value.value.split() if _WORD.fullmatch(w)]
        return _strings(list(node.args))
    return []


def _word_lists(path: Path) -> list[str]:
    """Every literal of LIST_SIZE or more words in ``path``, as "name:line: words"."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    allowed: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = {t.id for t in targets if isinstance(t, ast.Name)}
            if any((path.name, name) in LANGUAGE_FREE for name in names):
                allowed.update(id(child) for child in ast.walk(node))
    found = []
    for node in ast.walk(tree):
        words = _words_in(node)
        if len(words) >= LIST_SIZE and id(node) not in allowed:
            found.append(f"{path.name}:{getattr(node, 'lineno', '?')}: {words[:LIST_SIZE]}")
    return found


@pytest.mark.parametrize("path", [*READERS, RECOGNISER], ids=lambda p: p.name)
def test_no_word_list_is_written_outside_the_language_folder(path: Path) -> None:
    assert _word_lists(path) == []


def test_the_rule_catches_a_word_list_written_in_a_reader(tmp_path: Path) -> None:
    reader = tmp_path / "reader.py"
    reader.write_text(
        'DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")\n'
        'WORDS = frozenset("um uh er erm hmm".split())\n'
        'TABLE = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}\n'
    )
    assert len(_word_lists(reader)) == 3


def test_recogniser_phrases_hold_exactly_the_languages_letters_and_spelling_words() -> None:
    from telephony import stt_pocketsphinx as stt

    alphabet = ENGLISH.alphabet
    assert set(stt.NATO) == set(alphabet.nato_words) == set(NATO_WORDS)
    assert set(stt.LETTERS) == set(alphabet.nato_by_letter) == set("abcdefghijklmnopqrstuvwxyz")
    numbers = ENGLISH.numbers
    assert set(stt.DIGITS) - {numbers.oh} <= set(numbers.cardinals)
    assert set(stt.DAYS) >= set(ENGLISH.times.weekdays)


def _string_constants(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


@pytest.mark.parametrize(
    "word",
    sorted({*(w.lower() for w in ENGLISH.alphabet.nato_by_letter.values()),
            *ENGLISH.numbers.digits, *ENGLISH.numbers.teens, *ENGLISH.numbers.tens,
            *(w for w in ENGLISH.numbers.ordinals if " " not in w)}),
)  # fmt: skip
def test_nato_and_number_words_are_written_only_in_the_language_folder(word: str) -> None:
    outside = [p for p in [*READERS, RECOGNISER] if word in _string_constants(p)]
    assert outside == []


def test_number_words_are_one_table() -> None:
    numbers = ENGLISH.numbers
    assert numbers.cardinals["forty five"] == 45
    assert numbers.ordinals["twenty third"] == 23
    assert [numbers.written_ordinal(n) for n in (1, 2, 3, 11, 12, 13, 21, 22, 31)] == [
        "1st", "2nd", "3rd", "11th", "12th", "13th", "21st", "22nd", "31st",
    ]  # fmt: skip
    assert NUMBER_WORDS <= {*numbers.cardinals, numbers.hundred, numbers.thousand}


def test_negators_are_one_list_shared_by_the_readers() -> None:
    assert set(ENGLISH.verb_negators) < set(ENGLISH.negators)


def test_read_backs_say_the_languages_words() -> None:
    from datetime import date, time

    assert say_time(time(12)) == ENGLISH.times.noon
    assert say_date(date(2026, 3, 3), date(2026, 3, 2)) == ENGLISH.times.tomorrow


def test_language_folder_imports_no_reader() -> None:
    # The readers import the language; the language importing a reader would be a cycle.
    code = (
        "import sys; import caller_language.en; "
        "readers = {'email', 'spelling', 'time_phrases', 'time_mentions', 'timezones', "
        "'understanding'}; "
        "print(sorted(m for m in sys.modules if m.split('.')[-1] in readers "
        "and m.startswith('caller_language')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
