"""``booking-agent google ...``: connect Google accounts, pick calendars, see their health."""

from __future__ import annotations

import argparse
import asyncio
import sys

from app.cli.redirect_listener import wait_for_redirect
from app.settings import get_settings
from calendar_backend.google import connections
from calendar_backend.google.api_client import GoogleApiError
from calendar_backend.google.auth import SignInFailed, SignInNotConfigured
from calendar_backend.google.config import GoogleConfig
from calendar_backend.google.connections import Connection, ConnectionNotFound
from calendar_backend.google.sign_in import begin_sign_in, complete_sign_in
from calendar_backend.provider import CalendarUnavailable
from calendar_backend.token_store import TokenKeyMissing, TokenKeyWrong
from storage.database import Database, open_database

EXIT_FAILED = 1
LISTEN_SECONDS = 300


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``google`` command group."""
    google = subparsers.add_parser("google", help="Google Calendar connections")
    commands = google.add_subparsers(dest="google_command", metavar="COMMAND", required=True)

    connect = commands.add_parser(
        "connect", help="connect a Google account (prints the sign-in URL)",
        description="Prints the Google sign-in URL, then completes the connection when the "
        "browser comes back to the redirect URI (a local listener). On a headless server use "
        "--no-listen, sign in anywhere, and paste the URL the browser landed on with "
        "--redirect-url.")
    connect.add_argument("--name", help="connection name campaigns use (google:<name>); "
                         "default: the account's address")
    connect.add_argument("--login-hint", help="the account's e-mail address, pre-filled")
    connect.add_argument("--no-listen", action="store_true",
                         help="only print the URL; finish later with --redirect-url")
    connect.add_argument("--redirect-url", help="the URL the browser landed on after sign-in")
    connect.add_argument("--timeout", type=float, default=LISTEN_SECONDS,
                         help="seconds to wait for the browser (default %(default)s)")
    connect.set_defaults(func=_connect)

    status = commands.add_parser("status", aliases=["list"],
                                 help="each connection's account, calendar and health")
    status.set_defaults(func=_status)

    calendars = commands.add_parser("calendars", help="list a connection's calendars or pick one")
    calendars.add_argument("connection", help="connection name (or google:<name>)")
    calendars.add_argument("--use", metavar="CALENDAR", help="book on this calendar (name or id)")
    calendars.set_defaults(func=_calendars)

    refresh = commands.add_parser("refresh", help="refresh every connection's tokens now")
    refresh.set_defaults(func=_refresh)

    disconnect = commands.add_parser("disconnect",
                                     help="revoke a connection's access and delete its tokens")
    disconnect.add_argument("connection", help="connection name (or google:<name>)")
    disconnect.set_defaults(func=_disconnect)


def _open() -> tuple[GoogleConfig, Database]:
    settings = get_settings()
    config = settings.google()
    database = open_database(settings.sqlalchemy_url())
    connections.require_token_key(database, config)
    return config, database


def _fail(message: object) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_FAILED


_ERRORS = (SignInFailed, SignInNotConfigured, TimeoutError, TokenKeyMissing, TokenKeyWrong,
           ConnectionNotFound, connections.ConnectionNameTaken, CalendarUnavailable,
           GoogleApiError, ValueError)


def _connect(args: argparse.Namespace) -> int:
    try:
        config, database = _open()
        if args.redirect_url:
            connection = asyncio.run(complete_sign_in(database, config, args.redirect_url))
        else:
            url = asyncio.run(begin_sign_in(database, config, name=args.name,
                                            login_hint=args.login_hint))
            print("Open this URL in a browser and sign in with the calendar owner's Google "
                  "account:")
            print(url, flush=True)
            if args.no_listen:
                print("Then run: booking-agent google connect --redirect-url "
                      "'<the URL the browser landed on>'")
                return 0
            params = wait_for_redirect(config.redirect_uri, args.timeout)
            connection = asyncio.run(complete_sign_in(database, config, params))
    except _ERRORS as exc:
        return _fail(exc)
    print(f"Connected {connection.username} as {connection.ref}; booking on calendar "
          f"{connection.calendar_name!r}.")
    return 0


def _health(connection: Connection) -> str:
    if connection.status == "needs_reconnect":
        return f"needs reconnect: {connection.status_reason} (run: booking-agent google connect)"
    if connection.status == "disconnected":
        return "disconnected (campaigns using it have no calendar)"
    return "ok"


def _status(args: argparse.Namespace) -> int:
    try:
        _config, database = _open()
    except _ERRORS as exc:
        return _fail(exc)
    found = connections.list_connections(database)
    if not found:
        print("No Google connections. Connect one with: booking-agent google connect")
        return 0
    for c in found:
        said = c.calendar_time_zone or "nothing"
        zone = c.owner_zone or f"the campaign's zone (the calendar says {said!r})"
        print(f"{c.ref}")
        print(f"  account:   {c.username}")
        print(f"  calendar:  {c.calendar_name}" + (" (Google Meet)" if c.meet_allowed else ""))
        print(f"  zone:      {zone}")
        print(f"  connected: {c.connected_at:%Y-%m-%d %H:%M} UTC")
        print(f"  health:    {_health(c)}")
    return 0


def _calendars(args: argparse.Namespace) -> int:
    try:
        config, database = _open()
        connection = connections.find_connection(database, args.connection)
        calendars = asyncio.run(connections.list_calendars(database, config, connection.name))
        if args.use:
            wanted = args.use.strip()
            match = [c for c in calendars if c.id == wanted] or \
                [c for c in calendars if c.name.casefold() == wanted.casefold()]
            if len(match) != 1:
                return _fail(f"{len(match)} calendars match {wanted!r}; use the id")
            connection = connections.set_calendar(database, connection.name, match[0])
            print(f"{connection.ref} now books on {connection.calendar_name!r}.")
            return 0
    except _ERRORS as exc:
        return _fail(exc)
    for cal in calendars:
        marks = [m for m, on in (("booking", cal.id == connection.calendar_id),
                                 ("primary", cal.primary), ("Meet", cal.meet_allowed),
                                 ("read-only", not cal.can_edit)) if on]
        print(f"{'*' if cal.id == connection.calendar_id else ' '} {cal.name}"
              f"{' [' + ', '.join(marks) + ']' if marks else ''}  id={cal.id}"
              f"  zone={cal.time_zone or '?'}")
    return 0


def _refresh(args: argparse.Namespace) -> int:
    try:
        config, database = _open()
        refreshed = asyncio.run(connections.refresh_all(database, config))
    except _ERRORS as exc:
        return _fail(exc)
    for c in refreshed:
        print(f"{c.ref}: {_health(c)}")
    return 0 if all(c.usable for c in refreshed) else EXIT_FAILED


def _disconnect(args: argparse.Namespace) -> int:
    try:
        config, database = _open()
        connection, revoked = asyncio.run(connections.disconnect(database, config,
                                                                 args.connection))
    except _ERRORS as exc:
        return _fail(exc)
    print(f"Disconnected {connection.ref}: its tokens are deleted; campaigns booking on it "
          "now run without a calendar.")
    if not revoked:
        print("Google did not confirm the revocation: remove the app's access at "
              "myaccount.google.com/permissions if wanted.")
    return 0
