"""Connecting an Outlook account: start a sign-in, then complete it from the redirect.

The MSAL flow (state, PKCE verifier, nonce) stays server-side, encrypted, keyed by its
state, so the redirect can come back to another process (the web callback, or an operator
pasting the redirect URL into ``booking-agent outlook connect --redirect-url``).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Literal

from calendar_backend.api_http import StaticToken
from calendar_backend.connections_common import REPLACED
from calendar_backend.outlook import subscriptions
from calendar_backend.outlook.auth import (
    SignInFailed,
    SignInUnavailable,
    finish_flow,
    public_sign_in_url,
    start_flow,
)
from calendar_backend.outlook.config import OutlookConfig
from calendar_backend.outlook.connections import Connection, save_connection, table
from calendar_backend.outlook.graph_client import GraphClient
from calendar_backend.outlook.models import GraphCalendar, GraphUser, MailboxSettings
from calendar_backend.sign_in_redirect import (
    keep_pending_sign_in,
    redirect_parameters,
    take_pending_sign_in,
)
from calendar_backend.token_store import cipher
from storage.database import Database
from storage.outlook_tables import OutlookSignInRow

# Authorization codes live ten minutes; a sign-in older than that cannot complete.
SIGN_IN_LIFETIME = timedelta(minutes=10)
_AADSTS = re.compile(r"AADSTS\d+")


def begin_sign_in(database: Database, config: OutlookConfig, *, name: str | None = None,
                  login_hint: str | None = None,
                  account_type: Literal["work", "personal"] | None = None,
                  operator_id: str | None = None, redirect_uri: str | None = None) -> str:
    """Start connecting an account; returns the URL the owner opens to sign in.

    ``operator_id``: the organisation member it connects for (the API and the console);
    ``redirect_uri``: where the browser comes back (the server's own callback), instead of
    the configured one. MSAL keeps it in the flow, so completing uses the same.
    """
    box = cipher(config)
    if redirect_uri is not None:
        config = replace(config, redirect_uri=redirect_uri)
    domain_hint = {"work": "organizations", "personal": "consumers"}.get(account_type or "")
    flow = start_flow(config, login_hint=login_hint, domain_hint=domain_hint)
    keep_pending_sign_in(database, OutlookSignInRow, flow["state"],
                         box.encrypt(json.dumps(flow)), name, SIGN_IN_LIFETIME,
                         operator_id=operator_id)
    return public_sign_in_url(config, flow["auth_uri"])


async def complete_sign_in(database: Database, config: OutlookConfig,
                           redirect: str | Mapping[str, str], *,
                           name: str | None = None) -> Connection:
    """Finish the sign-in the redirect answers and save the connection.

    ``name`` (given when completing) wins over the name given when the sign-in began.
    A member's earlier Outlook account, when this is another, is disconnected afterwards
    as an operator's disconnect would (its subscription deleted at Graph, best effort;
    its tokens, sync state and synced copy removed); signing in to the same account again
    keeps its subscription and synced copy.

    Raises :class:`SignInFailed` (unknown or expired sign-in, refused consent, bad code).
    When the identity platform is temporarily unavailable (:class:`SignInUnavailable`) the
    sign-in is kept, so the same redirect can be completed again.
    """
    params = redirect_parameters(redirect)
    pending = take_pending_sign_in(database, OutlookSignInRow, params, config,
                                   SIGN_IN_LIFETIME, SignInFailed)
    if "error" in params:
        code = _AADSTS.search(params.get("error_description", ""))
        raise SignInFailed(f"sign-in refused: {params['error']}"
                           + (f" {code.group(0)}" if code else ""))
    try:
        signed = await asyncio.to_thread(finish_flow, config, json.loads(pending.flow), params)
    except SignInUnavailable:
        # The code was not redeemed: put the sign-in back for the operator's retry.
        with database.session() as session:
            session.add(OutlookSignInRow(state=pending.state, flow=pending.blob,
                                         name=pending.name, created_at=pending.created_at,
                                         operator_id=pending.operator_id))
        raise
    graph = GraphClient(config.graph_base_url, StaticToken(signed.access_token),
                        mailbox=signed.home_account_id, budget_seconds=10.0)
    user = GraphUser.model_validate(await graph.get(
        "/me", params={"$select": "id,displayName,mail,userPrincipalName"}))
    mailbox = MailboxSettings.model_validate(await graph.get("/me/mailboxSettings"))
    calendars = [GraphCalendar.model_validate(item) for item in
                 await graph.get_all("/me/calendars", params={"$top": "100"})]
    connection = save_connection(database, config, signed, user, mailbox, calendars,
                                 name=name or pending.name, operator_id=pending.operator_id)
    if connection.operator_id is not None:
        for replaced in await database.run(table.replaced_by, database,
                                           connection.operator_id, connection.id):
            await subscriptions.disconnect(database, config, replaced.name, REPLACED)
    return connection

