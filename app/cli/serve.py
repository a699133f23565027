"""``booking-agent serve``: the call server for Twilio (webhooks, media streams, metrics)."""

from __future__ import annotations

import argparse
import copy
import sys
from functools import partial
from typing import Any

from app.campaign_files import CampaignInvalid, load_campaign
from app.settings import get_settings

EXIT_INVALID = 2
DEFAULT_CAMPAIGN = "examples/campaigns/demo.yaml"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``serve`` command."""
    serve = subparsers.add_parser(
        "serve", help="answer and place phone calls through Twilio",
        description="Run the call server. Point a Twilio number's voice webhook at "
                    "BOOKING_AGENT_PUBLIC_URL/twilio/voice (HTTP POST).")
    serve.add_argument("--campaign", action="append", metavar="FILE",
                       help=f"campaign file (repeatable; default {DEFAULT_CAMPAIGN}); a "
                            "campaign answers the phone_numbers it lists, a lone one all")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.bootstrap import (
        claims_upkeep,
        google_notifications,
        google_sync_upkeep,
        outlook_notifications,
        outlook_sync_upkeep,
        phone_setup,
    )
    from app.call_server import CampaignDirectory, ServerNotConfigured, create_app
    from app.console import create_console
    from app.operator_api import create_operator_api
    from app.operators.campaigns import StoredCampaigns
    from app.operators.test_calls import TestCalls
    from app.operators.webhooks import (
        announce_call_ended,
        announce_owner_changes,
        keep_calls_announced,
        keep_delivering,
    )
    from calendar_backend.google import connections as google_connections
    from calendar_backend.google import upkeep as google_upkeep
    from calendar_backend.outlook import connections as outlook_connections
    from calendar_backend.outlook import upkeep as outlook_upkeep
    from calendar_backend.token_store import TokenKeyMissing, TokenKeyWrong, cipher
    from storage.database import open_database
    from telephony.metrics import ServerMetrics, default_instance
    from telephony.phone_pipeline import run_call

    settings = get_settings()
    try:
        campaigns = [load_campaign(path) for path in args.campaign or [DEFAULT_CAMPAIGN]]
    except CampaignInvalid as exc:
        print(exc, file=sys.stderr)
        return EXIT_INVALID
    database = open_database(settings.sqlalchemy_url())
    try:
        # Operators' campaigns answer too: by the numbers they list, and outbound by id.
        directory = CampaignDirectory(campaigns, StoredCampaigns(database))
    except ServerNotConfigured as exc:
        print(exc, file=sys.stderr)
        return EXIT_INVALID
    try:
        # Stored calendar tokens are useless (and calls would skip booking) without the key.
        outlook_connections.require_token_key(database, settings.outlook())
        google_connections.require_token_key(database, settings.google())
    except (TokenKeyMissing, TokenKeyWrong) as exc:
        print(f"booking-agent serve: {exc}", file=sys.stderr)
        return EXIT_INVALID
    metrics = ServerMetrics(settings.instance or default_instance())
    handler = partial(run_call, database=database, metrics=metrics,
                      setup=phone_setup(settings, database,
                                        call_ended=partial(announce_call_ended, database)))
    background = [
        partial(outlook_upkeep.keep_connections_alive, database, settings.outlook()),
        partial(google_upkeep.keep_connections_alive, database, settings.google()),
        # Ended calls the live path did not announce (a crash, no answer): their webhooks go out.
        partial(keep_calls_announced, database),
    ]
    try:
        background.append(partial(keep_delivering, database, cipher(settings.outlook())))
    except TokenKeyMissing:
        pass  # webhooks cannot be registered without the key either: nothing to deliver
    # Bookings the owner cancelled or moved in Outlook or Google Calendar are told to the
    # operators' webhooks.
    told = partial(announce_owner_changes, database)
    try:
        app = create_app(campaigns=directory, twilio=settings.twilio(), database=database,
                         handler=handler, metrics=metrics, api_docs=settings.api_docs,
                         background=[*background, claims_upkeep(database, settings),
                                     outlook_sync_upkeep(database, settings, told),
                                     google_sync_upkeep(database, settings, told)],
                         routers=[outlook_notifications(database, settings, told),
                                  google_notifications(database, settings, told)])
    except ServerNotConfigured as exc:
        print(f"booking-agent serve: {exc}", file=sys.stderr)
        return EXIT_INVALID
    test_calls = TestCalls(database, settings)
    app.mount("/api/v1", create_operator_api(database, settings, test_calls))
    secret = settings.console_session_secret
    app.mount("/console", create_console(
        database, test_calls, session_secret=secret.get_secret_value() if secret else None,
        secure_cookies=(settings.public_url or "").startswith("https://"), settings=settings))
    names = ", ".join(c.name for c in directory.campaigns)
    print(f"call server for {names}: Twilio voice webhook {settings.public_url}/twilio/voice, "
          f"status callback {settings.public_url}/twilio/status; operator API "
          f"{settings.public_url}/api/v1 (schema at /api/v1/openapi.json), console "
          f"{settings.public_url}/console/", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_config=_log_config())
    return 0


def _log_config() -> dict[str, Any]:
    """uvicorn's logging with one access line per HTTP request and none of its own
    per-connection lines: a WebSocket would otherwise cost three ("accepted", "connection
    open", "connection closed"), so a flood of refused streams logs one line each."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["uvicorn.error"]["level"] = "WARNING"
    return config
