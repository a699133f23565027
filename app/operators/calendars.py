"""Members' calendar connections as the API and the console offer them: start a sign-in
whose redirect lands on this server, finish it there, and the views both show.

The sign-in itself is the providers' (``calendar_backend.outlook.sign_in``,
``calendar_backend.google.sign_in``); here it is started for a member, with this server's
callback (:data:`CALLBACK_PATH`, served by the console) as the redirect URI.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from app.settings import Settings
from calendar_backend import member_calendars
from calendar_backend.google import auth as google_auth
from calendar_backend.google import sign_in as google_sign_in
from calendar_backend.member_calendars import Member, MemberConnection, Provider
from calendar_backend.outlook import auth as outlook_auth
from calendar_backend.outlook import sign_in as outlook_sign_in
from calendar_backend.token_store import TokenKeyMissing, TokenKeyWrong
from storage.database import Database
from storage.google_tables import GoogleSignInRow
from storage.outlook_tables import OutlookSignInRow

# Where the provider sends the browser back (on the serve app, through the console).
CALLBACK_PATH = "/console/calendars/{provider}/callback"
PROVIDER_NAMES: dict[str, str] = {"outlook": "Outlook", "google": "Google"}


class ConnectRefused(Exception):
    """A connection cannot be started or finished, with the reason in words."""


class ConnectionView(BaseModel):
    """One of a member's connections: status (and why it needs a reconnect), account,
    account type, time zone, the chosen calendar, and whether the member books on it."""

    provider: Provider
    status: Literal["connected", "needs_reconnect", "disconnected"]
    status_reason: str | None
    account: str
    account_type: str  # work / personal (Outlook), google
    time_zone: str | None
    calendar_id: str
    calendar_name: str
    active: bool
    connected_at: datetime

    @classmethod
    def of(cls, found: MemberConnection) -> ConnectionView:
        """The view of one member connection."""
        c = found.connection
        return cls(provider=found.provider, status=c.status,  # type: ignore[arg-type]
                   status_reason=c.status_reason, account=c.username,
                   account_type=found.account_type, time_zone=found.time_zone,
                   calendar_id=c.calendar_id, calendar_name=c.calendar_name,
                   active=found.active, connected_at=c.connected_at)


class MemberCalendarsView(BaseModel):
    """A member's calendars: the reference campaigns book on, the active provider, the
    connections, and whether booking on the member works now (else why)."""

    member_id: str
    email: str
    calendar_ref: str
    active_provider: Provider | None
    connections: list[ConnectionView]
    booking_usable: bool
    booking_unavailable_reason: str | None


def member_view(database: Database, member: Member) -> MemberCalendarsView:
    """What a member's Settings section and ``GET .../calendars`` show."""
    found = member_calendars.connections(database, member.id)
    concrete, reason = member_calendars.resolve(database, member.organisation_id, member.ref)
    return MemberCalendarsView(
        member_id=member.id, email=member.email, calendar_ref=member.ref,
        active_provider=member_calendars.active_provider(database, member.id),
        connections=[ConnectionView.of(c) for c in found],
        booking_usable=concrete is not None, booking_unavailable_reason=reason)


def redirect_uri(settings: Settings, server_root: str, provider: Provider) -> str:
    """This server's callback for ``provider``: on the public URL when one is set, else on
    the address the request reached (register it with the provider's app)."""
    base = (settings.public_url or server_root).rstrip("/")
    return base + CALLBACK_PATH.format(provider=provider)


async def start_connection(database: Database, settings: Settings, member: Member,
                           provider: Provider, server_root: str,
                           login_hint: str | None = None) -> str:
    """Begin connecting ``provider`` for ``member``; returns the sign-in URL to open."""
    uri = redirect_uri(settings, server_root, provider)
    try:
        if provider == "outlook":
            return await asyncio.to_thread(
                outlook_sign_in.begin_sign_in, database, settings.outlook(),
                login_hint=login_hint, operator_id=member.id, redirect_uri=uri)
        return await google_sign_in.begin_sign_in(
            database, settings.google(), login_hint=login_hint, operator_id=member.id,
            redirect_uri=uri)
    except (outlook_auth.SignInNotConfigured, google_auth.SignInNotConfigured,
            outlook_auth.SignInUnavailable, TokenKeyMissing, TokenKeyWrong) as exc:
        raise ConnectRefused(str(exc)) from None


def _started_for(database: Database, provider: Provider, state: str) -> str | None:
    """The member the pending sign-in ``state`` was started for (``None``: none, or the CLI)."""
    row_type = OutlookSignInRow if provider == "outlook" else GoogleSignInRow
    with database.session() as session:
        row = session.get(row_type, state)
        return row.operator_id if row is not None else None


async def finish_connection(database: Database, settings: Settings, provider: Provider,
                            redirect: Mapping[str, str], *,
                            signed_in: str | None = None) -> MemberConnection:
    """Finish the sign-in the browser came back with; the member's connection, now active.

    ``signed_in``: the member whose console session the browser carries; a sign-in started
    for someone else is refused then (nobody is made to connect their account to another
    member's sign-in by following a link).

    Raises :class:`ConnectRefused` (refused consent, unknown or expired sign-in, an account
    connected elsewhere, the identity platform not answering).
    """
    state = redirect.get("state")
    if signed_in is not None and state:
        started_for = await asyncio.to_thread(_started_for, database, provider, state)
        if started_for is not None and started_for != signed_in:
            raise ConnectRefused("this sign-in was started for another member: start it "
                                 "again from your own Settings page")
    try:
        if provider == "outlook":
            connection = await outlook_sign_in.complete_sign_in(
                database, settings.outlook(), redirect)
        else:
            connection = await google_sign_in.complete_sign_in(
                database, settings.google(), redirect)
    except (outlook_auth.SignInFailed, google_auth.SignInFailed,
            outlook_auth.SignInNotConfigured, google_auth.SignInNotConfigured,
            member_calendars.AccountConnectedElsewhere, LookupError, TokenKeyMissing,
            TokenKeyWrong) as exc:
        raise ConnectRefused(str(exc)) from None
    if connection.operator_id is None:
        # A sign-in begun from the CLI, completed here: it stays the server's.
        return MemberConnection(provider, connection, False)
    return next(c for c in member_calendars.connections(database, connection.operator_id)
                if c.provider == provider)
