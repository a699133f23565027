"""``booking-agent slots``: the slots the agent would offer right now, for checking a campaign."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from app.cli.campaign import load_or_report
from app.input_files import InputError, Instant, parse_instant, parse_json, read_text
from app.validation import problem_lines
from calendar_backend.interval import Interval
from calendar_backend.slots import SlotRules, free_slots

EXIT_INVALID = 2


class _BusySpan(BaseModel):
    """One entry of a ``--busy`` file."""

    model_config = ConfigDict(extra="forbid")

    start: Instant
    end: Instant


_BUSY_FILE = TypeAdapter(list[_BusySpan])


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``slots`` command."""
    slots = subparsers.add_parser(
        "slots",
        help="list the slots the agent would offer",
        description="List the meeting slots a campaign's agent would offer, "
        "in the owner's zone and in UTC.",
    )
    slots.add_argument("--campaign", required=True, metavar="FILE", help="campaign YAML file")
    slots.add_argument(
        "--busy",
        metavar="FILE.json",
        help='busy time as a JSON list of {"start": ISO, "end": ISO} (with offsets)',
    )
    slots.add_argument(
        "--now", metavar="ISO", help="pretend it is this time (needs an offset or Z)"
    )
    slots.add_argument("--json", action="store_true", help="print a JSON array")
    slots.add_argument("--limit", type=_positive, metavar="N", help="show at most N slots")
    slots.set_defaults(func=_slots)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def load_busy(path: str) -> list[Interval]:
    """Busy intervals from a JSON file: a list of ``{"start": ISO, "end": ISO}``."""
    try:
        data = parse_json(read_text(path))
    except InputError as exc:
        raise InputError(f"{path}: busy file: {exc}") from None
    try:
        spans = _BUSY_FILE.validate_python(data)
    except ValidationError as exc:
        raise InputError(
            f'{path}: busy time must be a list of {{"start": ISO, "end": ISO}} with offsets\n'
            f"{problem_lines(exc)}"
        ) from None
    intervals = []
    for index, span in enumerate(spans):
        if span.end <= span.start:
            raise InputError(
                f"{path}: entry {index}: end {span.end.isoformat()} is not after "
                f"start {span.start.isoformat()}"
            )
        intervals.append(Interval(span.start, span.end))
    return intervals


def utc_iso(value: datetime) -> str:
    """``2026-12-01T14:00:00Z``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _table(slots: list[Interval], zone: ZoneInfo) -> list[str]:
    zone_head = f"Owner time ({zone.key})"
    rows = []
    for slot in slots:
        start, end = slot.start.astimezone(zone), slot.end.astimezone(zone)
        local = f"{start:%a %Y-%m-%d %H:%M}-{end:%H:%M} {start:%Z}"
        utc = f"{slot.start.astimezone(UTC):%Y-%m-%d %H:%M}-{slot.end.astimezone(UTC):%H:%M} UTC"
        rows.append((local, utc))
    width = max([len(zone_head), *(len(local) for local, _ in rows)])
    lines = [f"{zone_head:<{width}}  UTC"]
    lines += [f"{local:<{width}}  {utc}" for local, utc in rows]
    return lines


def _slots(args: argparse.Namespace) -> int:
    campaign = load_or_report(args.campaign)
    if campaign is None:
        return EXIT_INVALID
    booking = campaign.booking
    try:
        rules = SlotRules.from_settings(booking)
        now = parse_instant(args.now, "--now") if args.now else datetime.now(UTC)
        busy = load_busy(args.busy) if args.busy else []
    except ValueError as exc:  # InputError, or a campaign whose zone only a calendar knows
        print(f"booking-agent slots: {exc}", file=sys.stderr)
        return EXIT_INVALID
    slots = free_slots(rules, busy, now, limit=args.limit)

    if not booking.enabled:
        print(
            f"note: booking is off for campaign {campaign.name!r}; "
            "these are the slots it would offer if it were on",
            file=sys.stderr,
        )
    if args.json:
        entries = [
            {
                "start": utc_iso(slot.start),
                "end": utc_iso(slot.end),
                "local_start": slot.start.astimezone(rules.zone).isoformat(timespec="seconds"),
            }
            for slot in slots
        ]
        print(json.dumps(entries, indent=2))
        return 0

    print(
        f"Campaign {campaign.name!r}: {booking.meeting_length_minutes}-minute meetings, "
        f"as of {utc_iso(now)}, {len(busy)} busy interval(s) given"
    )
    if not slots:
        print(f"No free slots in the next {booking.look_ahead_days} day(s).")
        return 0
    print("\n".join(_table(slots, rules.zone)))
    return 0
