"""What every calendar API client shares: bearer tokens, one pooled HTTP client per event loop,
and reading ``Retry-After``."""

from __future__ import annotations

import asyncio
import weakref
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx

from calendar_backend.provider import CalendarUnavailable


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait for a ``Retry-After`` value, or ``None`` when it is absent or unreadable."""
    if value is None or not value.strip():
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds or seconds in (float("inf"), float("-inf")):  # NaN / inf
        return None
    return max(0.0, seconds)


class ApiUnavailable(CalendarUnavailable):
    """The calendar API did not answer within the budget.

    ``maybe_applied`` when a write may have taken effect without our hearing back.
    """

    def __init__(self, reason: str, *, maybe_applied: bool = False) -> None:
        super().__init__(reason)
        self.maybe_applied = maybe_applied


def error_member(response: httpx.Response) -> Any:
    """The ``error`` member of an error answer (``{}`` when absent), ``None`` when not JSON."""
    try:
        return response.json().get("error") or {}
    except ValueError:
        return None


class TokenSource(Protocol):
    """Where an API client gets bearer tokens for one account."""

    async def access_token(self, *, force_refresh: bool = False) -> str:
        """A valid access token; raises :class:`CalendarUnavailable` when there is none."""
        ...

    async def consent_lost(self, reason: str) -> None:
        """The API refused the account's consent: the owner must reconnect."""
        ...


class StaticToken:
    """A token source holding one fresh access token (right after sign-in)."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def access_token(self, *, force_refresh: bool = False) -> str:
        return self._token

    async def consent_lost(self, reason: str) -> None:
        return None


# One pooled HTTP client per event loop, shared by every account and provider: calls reuse
# connections instead of paying a TLS handshake per request.
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = \
    weakref.WeakKeyDictionary()


def loop_client() -> httpx.AsyncClient:
    """The running event loop's shared client (made on first use)."""
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None or client.is_closed:
        client = _clients[loop] = httpx.AsyncClient(
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20))
    return client
