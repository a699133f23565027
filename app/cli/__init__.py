"""The ``booking-agent`` command line: one module per command group, each with ``register``."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Each module defines ``register(subparsers)`` and sets ``func`` on its parsers.
COMMAND_MODULES: tuple[str, ...] = (
    "app.cli.call",
    "app.cli.calls",
    "app.cli.campaign",
    "app.cli.google",
    "app.cli.operator",
    "app.cli.outlook",
    "app.cli.say",
    "app.cli.serve",
    "app.cli.slots",
    "app.cli.test_call",
    "app.cli.worker",
)

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every command group registered."""
    parser = argparse.ArgumentParser(
        prog="booking-agent",
        description="An AI phone agent that books meetings during the call.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
