"""Files and values an operator hands the CLI, read so that every failure is one plain reason.

Campaign and scenario YAML, ``--busy`` JSON, contacts CSVs and ``--now`` all come through here:
a file too big, not UTF-8, not YAML/JSON or nested past what the parsers recurse through, and an
instant outside the years the calendar arithmetic can reach, each become an
:class:`InputError` naming the problem (and the line, where there is one), never a traceback.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, AwareDatetime

# Far beyond any real campaign, scenario, busy list or contact list; keeps a mistaken path
# (a log, a disk image) from being read into memory and parsed.
MAX_FILE_BYTES = 16 * 1024 * 1024
# Instants the slot engine adds a year of look-ahead and notice to, or converts between
# zones, must stay clear of datetime's year 1 and 9999 limits.
EARLIEST_YEAR, LATEST_YEAR = 1900, 8999
_REACH = f"use a year from {EARLIEST_YEAR} to {LATEST_YEAR}"


class InputError(ValueError):
    """An input that cannot be used; the message says what is wrong and where."""


def read_text(path: str | Path, *, encoding: str = "utf-8") -> str:
    """The text of an operator's file, or :class:`InputError` (unreadable, too big, not UTF-8)."""
    path = Path(path)
    try:
        with path.open("rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror or exc}") from None
    except ValueError as exc:  # a NUL in a path written inside a file (a scenario's campaign)
        raise InputError(f"cannot read file: {exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise InputError(f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); save the file as UTF-8"
        ) from None


def parse_yaml(text: str) -> Any:
    """The YAML document in ``text``, or :class:`InputError` naming the line."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML: {exc}") from None
    except RecursionError:
        raise InputError("not valid YAML: nested too deeply") from None


def parse_json(text: str) -> Any:
    """The JSON document in ``text``, or :class:`InputError` naming the line."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc}") from None
    except RecursionError:
        raise InputError("not valid JSON: nested too deeply") from None


def within_reach(value: datetime) -> datetime:
    """``value`` if its year is one the calendar arithmetic can reach; else a ValueError."""
    # The wall-clock year, not the UTC one: converting year 1 or 9999 is what overflows.
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"{value.isoformat()} is out of range: {_REACH}")
    return value


# A timezone-aware instant within reach: the type of every time an operator writes.
Instant = Annotated[AwareDatetime, AfterValidator(within_reach)]


def parse_instant(text: str, what: str) -> datetime:
    """An ISO-8601 instant that names its offset (``Z`` or ``+hh:mm``), or :class:`InputError`."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"{what} {text!r} is not an ISO-8601 date and time") from None
    if value.tzinfo is None:
        raise InputError(
            f"{what} {text!r} has no UTC offset: add Z or one like -05:00 "
            "(e.g. 2026-12-01T09:00:00-05:00)"
        )
    try:
        return within_reach(value)
    except ValueError:
        raise InputError(f"{what} {text!r} is out of range: {_REACH}") from None
