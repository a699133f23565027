"""``booking-agent google ...``: connect Google accounts, pick calendars, see their health,
sync a calendar and list its synced events."""

from __future__ import annotations

import argparse
import asyncio

from app.cli import calendar_connections as shared
from app.cli.redirect_listener import wait_for_redirect
from app.settings import Settings
from calendar_backend.google import channels, connections
from calendar_backend.google.api_client import GoogleApiError
from calendar_backend.google.auth import SignInFailed, SignInNotConfigured
from calendar_backend.google.config import GoogleConfig
from calendar_backend.google.connections import Connection
from calendar_backend.google.sign_in import begin_sign_in, complete_sign_in
from calendar_backend.google.sync import sync_calendar, sync_status, synced_events
from storage.database import Database


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``google`` command group."""
    google = subparsers.add_parser("google", help="Google Calendar connections")
    commands = google.add_subparsers(dest="google_command", metavar="COMMAND", required=True)

    connect = shared.add_connect_command(commands, "Google")
    connect.add_argument("--name", help="connection name campaigns use (google:<name>); "
                         "default: the account's address")
    shared.add_connect_arguments(connect)
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

    _SYNC.add_to(commands)


def _open() -> tuple[GoogleConfig, Database]:
    return shared.open_connections(Settings.google, connections.require_token_key)


_ERRORS = (SignInFailed, SignInNotConfigured, GoogleApiError) + shared.ERRORS
_SYNC = shared.SyncCommands(
    command="google", calendar="the Google calendar", where="Google Calendar",
    service="Google", incremental="incremental sync",
    expired="Google had expired the previous sync token", open=_open, errors=_ERRORS,
    find_connection=connections.find_connection, sync_calendar=sync_calendar,
    sync_status=sync_status, synced_events=synced_events)


def _connect(args: argparse.Namespace) -> int:
    try:
        config, database = _open()
        if args.redirect_url:
            connection = asyncio.run(complete_sign_in(database, config, args.redirect_url))
        else:
            url = asyncio.run(begin_sign_in(database, config, name=args.name,
                                            login_hint=args.login_hint))
            if shared.show_sign_in_url(url, whose="Google account", command="google",
                                no_listen=args.no_listen):
                return 0
            params = wait_for_redirect(config.redirect_uri, args.timeout)
            connection = asyncio.run(complete_sign_in(database, config, params))
    except _ERRORS as exc:
        return shared.fail(exc)
    print(f"Connected {connection.username} as {connection.ref}; booking on calendar "
          f"{connection.calendar_name!r}.")
    return 0


def _status(args: argparse.Namespace) -> int:
    try:
        _config, database = _open()
    except _ERRORS as exc:
        return shared.fail(exc)
    shared.print_status(connections.list_connections(database), provider="Google",
                        command="google", details=_details)
    return 0


def _details(c: Connection) -> tuple[str, str, list[str], str]:
    return (c.username, c.calendar_name + (" (Google Meet)" if c.meet_allowed else ""), [],
            f"the calendar says {c.calendar_time_zone or 'nothing'!r}")


def _calendars(args: argparse.Namespace) -> int:
    try:
        config, database = _open()
        connection = connections.find_connection(database, args.connection)
        calendars = asyncio.run(connections.list_calendars(database, config, connection.name))
        if args.use:
            chosen = shared.one_calendar(calendars, args.use.strip())
            connection = connections.set_calendar(database, connection.name, chosen)
            print(f"{connection.ref} now books on {connection.calendar_name!r}.")
            return 0
    except _ERRORS as exc:
        return shared.fail(exc)
    for cal in calendars:
        booking = cal.id == connection.calendar_id
        shared.print_calendar(cal, booking=booking, marks=(
            ("booking", booking), ("primary", cal.primary), ("Meet", cal.meet_allowed),
            ("read-only", not cal.can_edit)), tail=f"  zone={cal.time_zone or '?'}")
    return 0


def _refresh(args: argparse.Namespace) -> int:
    try:
        config, database = _open()
        refreshed = asyncio.run(connections.refresh_all(database, config))
    except _ERRORS as exc:
        return shared.fail(exc)
    for c in refreshed:
        print(f"{c.ref}: {shared.health(c, 'google')}")
    return 0 if all(c.usable for c in refreshed) else shared.EXIT_FAILED


def _disconnect(args: argparse.Namespace) -> int:
    try:
        config, database = _open()
        connection, revoked = asyncio.run(channels.disconnect(database, config,
                                                              args.connection))
    except _ERRORS as exc:
        return shared.fail(exc)
    print(f"Disconnected {connection.ref}: its tokens are deleted; campaigns booking on it "
          "now run without a calendar.")
    if not revoked:
        print("Google did not confirm the revocation: remove the app's access at "
              "myaccount.google.com/permissions if wanted.")
    return 0
