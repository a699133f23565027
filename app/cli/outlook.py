"""``booking-agent outlook ...``: connect Outlook accounts, pick calendars, see their health,
sync a calendar and list its synced events."""

from __future__ import annotations

import argparse
import asyncio

from app.cli import calendar_connections as shared
from app.cli.redirect_listener import wait_for_redirect
from app.settings import Settings
from calendar_backend.outlook import connections, subscriptions
from calendar_backend.outlook.auth import SignInFailed, SignInNotConfigured, SignInUnavailable
from calendar_backend.outlook.config import OutlookConfig
from calendar_backend.outlook.connections import Connection
from calendar_backend.outlook.sign_in import begin_sign_in, complete_sign_in
from calendar_backend.outlook.sync import sync_calendar, sync_status, synced_events
from calendar_backend.token_store import new_key
from storage.database import Database


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``outlook`` command group."""
    outlook = subparsers.add_parser("outlook", help="Outlook calendar connections")
    commands = outlook.add_subparsers(dest="outlook_command", metavar="COMMAND", required=True)

    connect = shared.add_connect_command(commands, "Microsoft")
    connect.add_argument("--name", help="connection name campaigns use (outlook:<name>); "
                         "default: the account's address. An account already connected "
                         "keeps its name (reconnect it without --name)")
    connect.add_argument("--account-type", choices=("work", "personal"),
                         help="hint the sign-in page to a work/school or a personal account")
    shared.add_connect_arguments(connect)
    connect.set_defaults(func=_connect)

    status = commands.add_parser("status", help="each connection's account, calendar and health")
    status.set_defaults(func=_status)

    calendars = commands.add_parser("calendars", help="list a connection's calendars or pick one")
    calendars.add_argument("connection", help="connection name (or outlook:<name>)")
    choice = calendars.add_mutually_exclusive_group()
    choice.add_argument("--use", metavar="CALENDAR", help="book on this calendar (name or id)")
    choice.add_argument("--block", metavar="CALENDAR",
                        help="the owner's busy time on this calendar blocks booking too (the "
                        "default calendar's always does)")
    choice.add_argument("--unblock", metavar="CALENDAR",
                        help="stop counting this calendar's busy time")
    calendars.set_defaults(func=_calendars)

    refresh = commands.add_parser("refresh", help="refresh every connection's tokens now")
    refresh.set_defaults(func=_refresh)

    disconnect = commands.add_parser("disconnect", help="remove a connection's tokens")
    disconnect.add_argument("connection", help="connection name (or outlook:<name>)")
    disconnect.set_defaults(func=_disconnect)

    _SYNC.add_to(commands)

    key = commands.add_parser("new-key", help="print a new BOOKING_AGENT_TOKEN_KEY")
    key.set_defaults(func=lambda _args: print(new_key()) or 0)


def _open() -> tuple[OutlookConfig, Database]:
    return shared.open_connections(Settings.outlook, connections.require_token_key)


_ERRORS = (SignInFailed, SignInNotConfigured) + shared.ERRORS
_SYNC = shared.SyncCommands(
    command="outlook", calendar="the Outlook calendar", where="Outlook", service="Graph",
    incremental="delta sync", expired="Graph had expired the previous sync state",
    open=_open, errors=_ERRORS, find_connection=connections.find_connection,
    sync_calendar=sync_calendar, sync_status=sync_status, synced_events=synced_events)


def _connect(args: argparse.Namespace) -> int:
    # What to tell the operator if the sign-in service is down at this point.
    retry = "run the same command again in a minute"
    try:
        config, database = _open()
        if args.redirect_url:
            retry = f"the sign-in is kept: {retry}"
            connection = asyncio.run(complete_sign_in(database, config, args.redirect_url,
                                                      name=args.name))
        else:
            url = begin_sign_in(database, config, name=args.name, login_hint=args.login_hint,
                                account_type=args.account_type)
            if shared.show_sign_in_url(url, whose="account", command="outlook",
                                no_listen=args.no_listen):
                return 0
            params = wait_for_redirect(config.redirect_uri, args.timeout)
            retry += " and sign in again"
            connection = asyncio.run(complete_sign_in(database, config, params))
    except SignInUnavailable as exc:
        # Never echo the redirect URL: it carries the authorization code.
        return shared.fail(f"{exc}; {retry}")
    except _ERRORS as exc:
        return shared.fail(exc)
    print(f"Connected {connection.username} ({_kind(connection)}) as {connection.ref}; "
          f"booking on calendar {connection.calendar_name!r}.")
    return 0


def _kind(connection: Connection) -> str:
    return "personal Microsoft account" if connection.account_type == "personal" \
        else "work or school account"


def _status(args: argparse.Namespace) -> int:
    try:
        _config, database = _open()
    except _ERRORS as exc:
        return shared.fail(exc)
    shared.print_status(connections.list_connections(database), provider="Outlook",
                        command="outlook", details=_details)
    return 0


def _details(c: Connection) -> tuple[str, str, list[str], str]:
    also = ([] if c.calendar_is_default else ["the default calendar"]) + \
        [b.name for b in c.blocking_calendars]
    return (f"{c.username} ({_kind(c)})",
            c.calendar_name + (" (Teams)" if c.teams_allowed else ""),
            [f"busy from: {', '.join(also)} too"] if also else [],
            f"the mailbox says {c.mailbox_time_zone or 'nothing'!r}")


def _calendars(args: argparse.Namespace) -> int:
    try:
        config, database = _open()
        connection = connections.find_connection(database, args.connection)
        calendars = asyncio.run(connections.list_calendars(database, config, connection.name))
        wanted = (args.use or args.block or args.unblock or "").strip()
        if wanted:
            chosen = shared.one_calendar(calendars, wanted)
            if args.use:
                connection = connections.set_calendar(database, connection.name, chosen)
                print(f"{connection.ref} now books on {connection.calendar_name!r}.")
                return 0
            connection = connections.set_blocking(database, connection.name, chosen,
                                                  blocking=bool(args.block))
            print(f"{connection.ref}: busy time on {chosen.name!r} "
                  f"{'now blocks' if args.block else 'no longer blocks'} booking.")
            return 0
    except _ERRORS as exc:
        return shared.fail(exc)
    marked = {c.id for c in connection.blocking_calendars}
    for cal in calendars:
        booking = cal.id == connection.calendar_id
        blocks = not booking and (cal.is_default or cal.id in marked)
        shared.print_calendar(cal, booking=booking, marks=(
            ("booking", booking), ("default", cal.is_default),
            ("busy time blocks booking", blocks), ("Teams", cal.teams_allowed),
            ("read-only", not cal.can_edit)))
    return 0


def _refresh(args: argparse.Namespace) -> int:
    try:
        config, database = _open()
        refreshed = asyncio.run(connections.refresh_all(database, config))
    except _ERRORS as exc:
        return shared.fail(exc)
    for r in refreshed:
        c = r.connection
        if r.problem is not None and c.usable:
            # Still connected: the next refresh (or call) tries again by itself.
            print(f"{c.ref}: refresh failed, temporarily: {r.problem} (still connected; "
                  "run refresh again later)")
        else:
            print(f"{c.ref}: {shared.health(c, 'outlook')}")
    return 0 if all(r.problem is None for r in refreshed) else shared.EXIT_FAILED


def _disconnect(args: argparse.Namespace) -> int:
    try:
        config, database = _open()
        connection = asyncio.run(subscriptions.disconnect(database, config, args.connection))
    except _ERRORS as exc:
        return shared.fail(exc)
    print(f"Disconnected {connection.ref}: its tokens are deleted; campaigns booking on it "
          "now run without a calendar. Remove the app's access in the account's settings "
          "(My Apps, or account.live.com/consent for personal accounts) if wanted.")
    return 0
