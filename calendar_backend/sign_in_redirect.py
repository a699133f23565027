"""Any provider's authorization-code sign-in: keeping the pending flow, and reading the
redirect it comes back with."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sqlalchemy import delete

from calendar_backend.token_store import HasTokenKey, cipher
from storage.database import Database


def redirect_parameters(redirect: str | Mapping[str, str]) -> dict[str, str]:
    """The parameters of the redirect: a pasted URL's query, or a form_post body."""
    if isinstance(redirect, str):
        parts = urlsplit(redirect.strip())
        return dict(parse_qsl(parts.query or parts.fragment))
    return dict(redirect)


def keep_pending_sign_in(database: Database, row_type: Any, state: str, blob: bytes,
                         name: str | None, lifetime: timedelta, *,
                         operator_id: str | None = None) -> None:
    """Store a begun sign-in (its encrypted flow), dropping those older than ``lifetime``;
    ``operator_id``: the organisation member it connects for (``None``: server-wide)."""
    now = datetime.now(UTC)
    with database.session() as session:
        session.execute(delete(row_type).where(row_type.created_at < now - lifetime))
        session.add(row_type(state=state, flow=blob, name=name, created_at=now,
                             operator_id=operator_id))


@dataclass(frozen=True)
class PendingSignIn:
    """A begun sign-in, taken out of storage (single use) by its redirect."""

    state: str
    flow: str  # decrypted
    blob: bytes  # as stored, to put it back
    name: str | None
    created_at: datetime
    operator_id: str | None = None  # the member it connects for (None: server-wide)


def take_pending_sign_in(database: Database, row_type: Any, params: Mapping[str, str],
                         config: HasTokenKey, lifetime: timedelta,
                         failed: type[Exception]) -> PendingSignIn:
    """The sign-in the redirect's ``state`` names, removed from storage.

    Raises ``failed`` (the provider's sign-in error) without a state, for an unknown or used
    sign-in, and for one older than ``lifetime``.
    """
    state = params.get("state")
    if not state:
        raise failed("the redirect URL carries no state: paste the whole URL")
    box = cipher(config)
    # Read then delete: serial on SQLite, the row locked on PostgreSQL; of two redirects
    # racing with one state, the second finds it gone.
    with database.session(serial=True) as session:
        row = session.get(row_type, state, with_for_update=True)
        if row is not None:
            pending = PendingSignIn(state, box.decrypt(row.flow), row.flow, row.name,
                                    row.created_at, row.operator_id)
            session.delete(row)  # single use
    if row is None:
        raise failed("this sign-in is unknown or was already used: start again")
    if datetime.now(UTC) - pending.created_at > lifetime:
        raise failed("this sign-in expired: start again")
    return pending
