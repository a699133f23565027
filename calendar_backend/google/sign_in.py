"""Connecting a Google account: start a sign-in, then complete it from the redirect.

The flow's secrets (state, PKCE verifier) stay server-side, encrypted, keyed by the state, so
the redirect can come back to another process (the web callback, or an operator pasting the
redirect URL into ``booking-agent google connect --redirect-url``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta

from pydantic import BaseModel

from calendar_backend.api_http import StaticToken
from calendar_backend.connections_common import REPLACED
from calendar_backend.google import channels
from calendar_backend.google.api_client import CalendarApiClient
from calendar_backend.google.auth import SignInFailed, finish_flow, start_flow, token_account
from calendar_backend.google.config import GoogleConfig
from calendar_backend.google.connections import (
    Connection,
    fetch_calendars,
    save_connection,
    table,
)
from calendar_backend.sign_in_redirect import (
    keep_pending_sign_in,
    redirect_parameters,
    take_pending_sign_in,
)
from calendar_backend.token_store import cipher
from storage.database import Database
from storage.google_tables import GoogleSignInRow

# Google's authorization codes are short-lived; a sign-in older than this cannot complete.
SIGN_IN_LIFETIME = timedelta(minutes=10)


class PendingFlow(BaseModel):
    """What the redirect needs to finish the sign-in (stored encrypted)."""

    code_verifier: str
    # The redirect URI the sign-in began with, when not the configured one (the server's
    # own callback): the code is redeemed with the same.
    redirect_uri: str | None = None


async def begin_sign_in(database: Database, config: GoogleConfig, *, name: str | None = None,
                        login_hint: str | None = None, operator_id: str | None = None,
                        redirect_uri: str | None = None) -> str:
    """Start connecting an account; returns the URL the owner opens to sign in.

    ``operator_id``: the organisation member it connects for (the API and the console);
    ``redirect_uri``: where the browser comes back (the server's own callback), instead of
    the configured one.
    """
    box = cipher(config)
    if redirect_uri is not None:
        config = replace(config, redirect_uri=redirect_uri)
    started = await start_flow(config, login_hint=login_hint)
    flow = PendingFlow(code_verifier=started.code_verifier, redirect_uri=redirect_uri)
    keep_pending_sign_in(database, GoogleSignInRow, started.state,
                         box.encrypt(flow.model_dump_json()), name, SIGN_IN_LIFETIME,
                         operator_id=operator_id)
    return started.url


async def complete_sign_in(database: Database, config: GoogleConfig,
                           redirect: str | Mapping[str, str]) -> Connection:
    """Finish the sign-in the redirect answers and save the connection.

    A member's earlier Google account, when this is another, is disconnected afterwards as
    an operator's disconnect would (its push channel stopped at Google and its grant
    revoked, best effort; its tokens, sync state and synced copy removed); signing in to the
    same account again keeps its channel and synced copy.

    Raises :class:`SignInFailed` (unknown or expired sign-in, refused consent, bad code).
    """
    params = redirect_parameters(redirect)
    pending = take_pending_sign_in(database, GoogleSignInRow, params, config,
                                   SIGN_IN_LIFETIME, SignInFailed)
    if "error" in params:
        raise SignInFailed(f"sign-in refused: {params['error']}")
    if not params.get("code"):
        raise SignInFailed("the redirect URL carries no code: paste the whole URL")
    flow = PendingFlow.model_validate_json(pending.flow)
    if flow.redirect_uri is not None:
        config = replace(config, redirect_uri=flow.redirect_uri)
    token = await finish_flow(config, params["code"], flow.code_verifier)
    account = token_account(token)
    api = CalendarApiClient(config.calendar_base_url, StaticToken(token["access_token"]),
                            budget_seconds=10.0)
    calendars = await fetch_calendars(api)
    connection = save_connection(database, config, account.subject, account.email, token,
                                 calendars, name=pending.name, operator_id=pending.operator_id)
    if connection.operator_id is not None:
        for replaced in await database.run(table.replaced_by, database,
                                           connection.operator_id, connection.id):
            await channels.disconnect(database, config, replaced.name, REPLACED)
    return connection
