"""``booking-agent campaign ...``: campaign files."""

from __future__ import annotations

import argparse
import sys

from agent.campaign import Campaign
from app.campaign_files import CampaignInvalid, load_campaign
from app.cli.call import register_dial
from app.cli.worker import register_queue

EXIT_INVALID = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``campaign`` command group."""
    campaign = subparsers.add_parser("campaign", help="campaign files")
    commands = campaign.add_subparsers(dest="campaign_command", metavar="COMMAND", required=True)
    check = commands.add_parser("check", help="validate a campaign file")
    check.add_argument("file")
    check.set_defaults(func=_check)
    register_dial(commands)
    register_queue(commands)


def load_or_report(path: str) -> Campaign | None:
    """The campaign at ``path``, or ``None`` after printing every problem to stderr."""
    try:
        return load_campaign(path)
    except CampaignInvalid as exc:
        print(exc, file=sys.stderr)
        return None


def _check(args: argparse.Namespace) -> int:
    campaign = load_or_report(args.file)
    if campaign is None:
        return EXIT_INVALID
    booking = campaign.booking
    state = "on" if booking.enabled else "off"
    if booking.pool is not None:
        members = ", ".join(
            f"{m.name} on {m.calendar!r}" if m.calendar is not None else f"{m.name} (no calendar)"
            for m in booking.pool)
        where = f"round-robin on a pool of {len(booking.pool)}: {members}"
    else:
        where = f"on calendar {booking.calendar!r}"
    print(
        f"{args.file}: campaign {campaign.name!r} is valid; booking {state}, "
        f"{booking.meeting_length_minutes}-minute {booking.meeting_type.replace('_', '-')} "
        f"meetings {where}"
    )
    return 0
