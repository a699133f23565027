"""Contact lists: the CSV an operator hands ``campaign dial``, checked whole before anyone is added.

A list with any bad row is refused whole, every problem named by row (the header is row 1):
nothing is imported from it, so fixing the file and running again never half-imports.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from app.input_files import InputError, read_text
from calendar_backend.booking_settings import Recipient
from caller_language.phone_numbers import e164

# Column names (any case) that fill the recipient's own fields; any other column is custom.
_COLUMNS = {
    "phone": "phone", "phone_number": "phone", "number": "phone",
    "first_name": "first_name", "firstname": "first_name",
    "last_name": "last_name", "lastname": "last_name",
    "email": "email", "company": "company",
}
# A value longer than this is a broken export (an unclosed quote swallowing the rest of the
# file), not a name or a company; it would end up in calendar titles.
MAX_VALUE_CHARS = 1000


class ContactsInvalid(ValueError):
    """A contact list with rows that cannot be dialled, every problem listed by row."""

    def __init__(self, source: str, problems: list[tuple[int, str]]) -> None:
        self.problems = problems
        lines = "\n".join(f"  {f'row {row}' if row else '(file)'}: {message}"
                          for row, message in problems)
        super().__init__(f"{source}: contact list not usable\n{lines}")


def _header_problems(headers: list[str]) -> list[str]:
    problems = []
    if not any(_COLUMNS.get(h.lower()) == "phone" for h in headers):
        problems.append("no phone column in the header")
    filled_by: dict[str, str] = {}
    for header in headers:
        if not header:
            continue
        field = _COLUMNS.get(header.lower(), header)
        if field in filled_by:
            # Two columns for one field: which one the caller's name or number comes from
            # would be a guess (the last one silently won before).
            problems.append(f"columns {filled_by[field]!r} and {header!r} both give the "
                            f"{field.replace('_', ' ')}; keep one")
        else:
            filled_by[field] = header
    return problems


def _value_problem(header: str, column: int, value: str) -> str | None:
    where = f"column {header!r}" if header else f"column {column} (no name in the header)"
    if header == "" and value:
        return f"{where} has a value; name the column or remove it"
    if "\n" in value or "\r" in value:
        return f"{where} has a line break inside quotes; put each contact on one line"
    if "\x00" in value:
        return f"{where} contains a NUL character"
    if len(value) > MAX_VALUE_CHARS:
        return f"{where} is {len(value):,} characters long (at most {MAX_VALUE_CHARS:,})"
    return None


def load_contacts(path: str | Path) -> list[Recipient]:
    """Read a contact list (CSV with a header). ``phone`` is required; first_name,
    last_name, email and company fill the recipient; any other column becomes
    ``{recipient.custom.<column>}``. Raises :class:`ContactsInvalid` listing every bad row.
    """
    try:
        text = read_text(path, encoding="utf-8-sig")
    except InputError as exc:
        raise ContactsInvalid(str(path), [(0, str(exc))]) from None
    return parse_contacts(text, str(path))


def parse_contacts(text: str, source: str = "contacts") -> list[Recipient]:
    """A contact list's CSV text (as :func:`load_contacts` reads from a file, e.g. an upload);
    raises :class:`ContactsInvalid` naming ``source`` and listing every bad row."""
    reader = csv.reader(io.StringIO(text, newline=""))
    problems: list[tuple[int, str]] = []
    contacts: list[Recipient] = []
    seen: set[str] = set()
    headers: list[str] | None = None
    row_number = 0
    while True:
        try:
            values = next(reader, None)
        except csv.Error as exc:
            # The reader cannot resync after a malformed record: report it and stop there.
            reason = str(exc)
            if "field limit" in reason:
                reason = f"a value is longer than {csv.field_size_limit():,} characters"
            problems.append((row_number + 1, f"not readable as CSV: {reason}"))
            break
        if values is None:
            break
        row_number += 1
        if headers is None:
            headers = [h.strip() for h in values]
            problems += [(1, message) for message in _header_problems(headers)]
            if problems:
                break
            continue
        if not any(v.strip() for v in values):
            continue  # a blank line
        if len(values) > len(headers):
            problems.append((row_number, f"{len(values)} values but {len(headers)} columns"))
            continue
        fields: dict[str, str] = {}
        custom: dict[str, str] = {}
        row_problems = []
        for column, (header, raw) in enumerate(zip(headers, values, strict=False), start=1):
            value = raw.strip()
            problem = _value_problem(header, column, value)
            if problem:
                row_problems.append(problem)
                continue
            known = _COLUMNS.get(header.lower())
            if known:
                fields[known] = value
            elif value and header:
                custom[header] = value
        if row_problems:
            problems += [(row_number, message) for message in row_problems]
            continue
        try:
            phone = e164(fields.get("phone", ""))
        except ValueError as exc:
            problems.append((row_number, str(exc)))
            continue
        if phone in seen:
            problems.append((row_number, f"{phone} is listed twice"))
            continue
        seen.add(phone)
        fields["phone"] = phone
        contacts.append(Recipient(**{k: v or None for k, v in fields.items()}, custom=custom))
    if headers is None and not problems:
        problems.append((1, "the file is empty: a header with a phone column is needed"))
    if problems:
        raise ContactsInvalid(source, problems)
    return contacts
