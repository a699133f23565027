"""``booking-agent test-call``: talk to the agent as the caller, in text, or run a scenario file."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from app.campaign_files import CampaignInvalid
from app.cli.campaign import load_or_report
from app.input_files import InputError, parse_instant
from app.settings import get_settings

EXIT_INVALID = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``test-call`` command."""
    parser = subparsers.add_parser(
        "test-call",
        help="a test call in text: you type as the caller, or a scenario file plays the caller",
        description="Runs the real dialogue and booking code on the embedded calendar; only "
        "speech is replaced by text. Without an OpenAI key the guided policy talks.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--campaign", help="campaign file (interactive: you type as the caller)")
    source.add_argument("--script", help="scenario file (YAML) to run")
    parser.add_argument("--caller", default="", help="caller's number in +E.164 form")
    parser.add_argument("--name", default=None, help="caller's first name (interactive)")
    parser.add_argument("--json", action="store_true", help="print one JSON object (--script)")
    parser.add_argument("--db", default=None, help="database URL (default: a fresh temporary "
                        "SQLite file per run; the configured database for a scenario booking "
                        "on its campaign's own calendar, where its connection is recorded)")
    parser.add_argument("--llm-url", default=None, help="OpenAI-compatible base URL, e.g. "
                        "http://127.0.0.1:8765/v1 (the local fake server)")
    parser.add_argument("--policy", choices=("llm", "guided"), default=None,
                        help="interactive: who talks (default: llm if configured, else guided)")
    parser.add_argument("--now", type=_aware_time, default=None,
                        help="interactive: the call's clock, e.g. 2026-12-01T14:00:00Z "
                        "(default: the real time)")
    parser.set_defaults(func=_run)


def _aware_time(text: str) -> datetime:
    try:
        return parse_instant(text, "--now")
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _quiet_pipecat() -> None:
    # Pipecat logs every frame at DEBUG through loguru; the conversation is the output here.
    # (Pipecat is imported after this, so its banner is quiet too.)
    from loguru import logger

    logger.remove()
    logger.add(sys.stderr, level="WARNING")


def _print_line(role: str, text: str) -> None:
    print(f"{'Agent' if role == 'agent' else 'Caller'}: {text}", flush=True)


def _run(args: argparse.Namespace) -> int:
    _quiet_pipecat()
    settings = get_settings()
    if args.script:
        return _scripted(args, settings)
    return _interactive(args, settings)


def _scripted(args: argparse.Namespace, settings) -> int:  # noqa: ANN001
    from app.harness import ScenarioInvalid, run_scenario

    try:
        result = asyncio.run(run_scenario(
            args.script, settings=settings, database_url=args.db, llm_url=args.llm_url,
            on_line=None if args.json else _print_line,
        ))
    except (ScenarioInvalid, CampaignInvalid) as exc:
        print(exc, file=sys.stderr)
        return EXIT_INVALID
    if args.json:
        out = result.model_dump(include={"transcript", "bookings", "outcome"})
        print(json.dumps(out, indent=2))
        return 0
    print(f"\nOutcome: {result.outcome}")
    if result.booking_unavailable:
        print(f"Booking was not offered: {result.booking_unavailable}")
    for booking in result.bookings:
        print(f"Booking ({booking['status']}): {booking['start']} to {booking['end']}, "
              f"{booking['subject']!r}, invited {', '.join(booking['attendees'])}")
    return 0


def _interactive(args: argparse.Namespace, settings) -> int:  # noqa: ANN001
    from app.bootstrap import settle_claims
    from app.harness import CallerSpec, run_call
    from storage.database import open_database

    campaign = load_or_report(args.campaign)
    if campaign is None:
        return EXIT_INVALID
    if args.llm_url:
        from pydantic import SecretStr

        settings = settings.model_copy(update={
            "openai_base_url": args.llm_url,
            "openai_api_key": settings.openai_api_key or SecretStr("local-test-server"),
        })

    async def next_line() -> str | None:
        try:
            said = await asyncio.to_thread(input, "You: ")
        except EOFError:
            return None
        return said.strip() or "..."

    def show(role: str, text: str) -> None:
        if role == "agent":
            _print_line(role, text)

    async def call() -> None:
        with tempfile.TemporaryDirectory(prefix="booking-agent-test-call-") as tmp:
            database = open_database(args.db or f"sqlite:///{Path(tmp) / 'test-call.db'}")
            try:
                await settle_claims(database, settings)
                result, _ = await run_call(
                    campaign, database=database, settings=settings,
                    caller=CallerSpec(number=args.caller, first_name=args.name),
                    next_line=next_line, now=args.now, policy=args.policy, on_line=show,
                )
            finally:
                database.dispose()
        print(f"\nOutcome: {result.outcome}")
        for booking in result.bookings:
            print(f"Booking ({booking['status']}): {booking['start']} to {booking['end']}")

    print("Test call: you are the caller. Type what you would say; Ctrl-D hangs up.\n")
    asyncio.run(call())
    return 0
