"""``booking-agent say ...``: what the agent would say, without a call. One function per command."""

from __future__ import annotations

import argparse
import sys

from caller_language.email import EmailNotUnderstood, nato_readback, parse_spoken_email
from caller_language.timezones import caller_timezones, is_valid_phone_number, zone_name

EXIT_NOT_UNDERSTOOD = 1


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``say`` command group."""
    say = subparsers.add_parser("say", help="what the agent would say, without a call")
    say_commands = say.add_subparsers(dest="say_command", metavar="COMMAND", required=True)
    _register_email(say_commands)
    _register_zone(say_commands)


def _register_email(say_commands: argparse._SubParsersAction) -> None:
    email = say_commands.add_parser(
        "email", help="parse a spoken e-mail address and print its NATO read-back"
    )
    email.add_argument(
        "transcript", nargs="+", help='what the caller said, e.g. "j o h n at example dot com"'
    )
    email.set_defaults(func=_email)


def _email(args: argparse.Namespace) -> int:
    try:
        address = parse_spoken_email(" ".join(args.transcript))
    except EmailNotUnderstood as exc:
        print(exc, file=sys.stderr)
        return EXIT_NOT_UNDERSTOOD
    print(address)
    print(nato_readback(address))
    return 0


def _register_zone(say_commands: argparse._SubParsersAction) -> None:
    zone = say_commands.add_parser(
        "zone", help="the caller's likely time zones for a phone number, most likely first"
    )
    zone.add_argument("number", help="an E.164 phone number, e.g. +12125550123")
    zone.set_defaults(func=_zone)


def _zone(args: argparse.Namespace) -> int:
    zones = caller_timezones(args.number)
    if not zones:
        reason = (
            "the time zone is unknown (toll-free, or the number spans too many zones)"
            if is_valid_phone_number(args.number)
            else "not a valid international phone number (E.164, e.g. +12125550123)"
        )
        print(f"{args.number}: {reason}", file=sys.stderr)
        return EXIT_NOT_UNDERSTOOD
    for zone in zones:
        print(f"{zone} ({zone_name(zone)})")
    return 0
