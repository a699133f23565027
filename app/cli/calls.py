"""``booking-agent calls list`` / ``calls show ID``: the call records."""

from __future__ import annotations

import argparse
import json
import sys

from app.settings import get_settings

EXIT_NOT_FOUND = 1


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``calls`` command group."""
    calls = subparsers.add_parser("calls", help="recorded phone calls")
    commands = calls.add_subparsers(dest="calls_command", metavar="COMMAND", required=True)
    listing = commands.add_parser("list", help="the most recent calls")
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=_list)
    show = commands.add_parser("show", help="one call: transcript, tools, bookings, latency")
    show.add_argument("id", help="the call's id (Twilio CallSid)")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=_show)


def _database():  # noqa: ANN202
    from storage.database import open_database

    return open_database(get_settings().sqlalchemy_url())


def _list(args: argparse.Namespace) -> int:
    from telephony.call_records import list_calls

    records = list_calls(_database(), args.limit)
    if args.json:
        print(json.dumps([r.model_dump(mode="json") for r in records], indent=2))
        return 0
    for r in records:
        duration = f"{r.duration_seconds:.0f}s" if r.duration_seconds is not None else "-"
        print(f"{r.id}  {r.started_at:%Y-%m-%d %H:%M}Z  {r.direction:8}  "
              f"{r.caller_number or '-':16}  {r.campaign:20}  {r.status:11}  "
              f"{r.outcome or '-':18}  {duration}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from telephony.call_records import get_call

    record = get_call(_database(), args.id)
    if record is None:
        print(f"no call {args.id!r}", file=sys.stderr)
        return EXIT_NOT_FOUND
    if args.json:
        print(json.dumps(record.model_dump(mode="json"), indent=2))
        return 0
    print(f"call {record.id} ({record.direction}, campaign {record.campaign})")
    print(f"  caller {record.caller_number or '-'}, our number {record.our_number or '-'}")
    print(f"  status {record.status}, outcome {record.outcome or '-'}, "
          f"duration {record.duration_seconds if record.duration_seconds is not None else '-'} s")
    print("transcript:")
    for line in record.transcript:
        print(f"  {line.get('role', '?'):>6}: {line.get('text', '')}")
    if record.tool_calls:
        print("tool calls:")
        for call in record.tool_calls:
            print(f"  {call.get('name')}({json.dumps(call.get('arguments', {}))})")
    if record.bookings:
        print("bookings:")
        for booking in record.bookings:
            slot = booking.get("slot", {})
            print(f"  {booking.get('status')}: {slot.get('start')} for "
                  f"{booking.get('attendee_email')} ({booking.get('id')})")
    follow = record.follow_ups
    if follow.call_back_requested:
        print(f"follow-up: call back {follow.call_back_when or '(no time given)'}")
    if follow.do_not_call:
        print("follow-up: asked not to be called again")
    if follow.human_follow_up:
        print("follow-up: a person promised to follow up")
    if record.turn_latencies:
        print("turn latency (ms): total = stt + dialogue + tools + tts")
        for i, t in enumerate(record.turn_latencies, 1):
            print(f"  {i:2}: {t['total_ms']:7.0f} = {t.get('stt_ms') or 0:.0f} + "
                  f"{t.get('dialogue_ms') or 0:.0f} + {t.get('tools_ms') or 0:.0f} + "
                  f"{t.get('tts_ms') or 0:.0f}")
    return 0
