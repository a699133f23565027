"""``booking-agent say ...``: what the agent would say, without a call. One function per command."""

from __future__ import annotations

import argparse
import sys

from agent.email import EmailNotUnderstood, nato_readback, parse_spoken_email

EXIT_NOT_UNDERSTOOD = 1


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``say`` command group."""
    say = subparsers.add_parser("say", help="what the agent would say, without a call")
    say_commands = say.add_subparsers(dest="say_command", metavar="COMMAND", required=True)
    _register_email(say_commands)


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
