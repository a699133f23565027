"""An httpx client for Calendar API v3 that survives a live call's faults.

* 429, and 403 ``rateLimitExceeded`` / ``userRateLimitExceeded``: exponential back-off with
  jitter (or ``Retry-After`` when Google sends one), within a live-call budget; past it,
  :class:`CalendarUnavailable`. 500/502/503/504 likewise.
* 401 ``authError``: refresh the token once and retry once.
* 403 ``insufficientPermissions``: the owner took access back; the connection needs the owner
  to reconnect.
* A lost answer (connection reset, timeout) is retried: every write this package sends is
  idempotent (inserts carry a client-chosen id, a move sends the same times again, a repeated
  delete answers 410).
* Errors are recognised by ``error.errors[].reason``, never by message. Tokens are never logged.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from calendar_backend.api_http import (
    ApiUnavailable,
    TokenSource,
    error_member,
    loop_client,
    retry_after_seconds,
)
from calendar_backend.provider import CalendarUnavailable

log = logging.getLogger(__name__)

RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
SERVER_ERRORS = frozenset({500, 502, 503, 504})
# 403 reasons only the owner granting access again can fix.
CONSENT_REASONS = frozenset({"insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"})


class GoogleApiError(Exception):
    """Google answered with an error that retrying will not fix."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(f"HTTP {status} {reason}: {message}")
        self.status, self.reason, self.message = status, reason, message


class GoogleUnavailable(ApiUnavailable):
    """Google did not answer within the budget (``maybe_applied``: a lost answer or a server
    error on a non-GET attempt)."""


def error_reason(response: httpx.Response) -> tuple[str, str]:
    """``(reason, message)`` of a Google error envelope (the first ``errors[]`` item)."""
    error = error_member(response)
    if error is None:
        return f"HTTP{response.status_code}", ""
    if not isinstance(error, dict):  # the OAuth endpoints answer {"error": "invalid_grant"}
        return str(error), ""
    items = error.get("errors") or [{}]
    reason = items[0].get("reason") or error.get("status") or f"HTTP{response.status_code}"
    return str(reason), str(error.get("message", ""))


def backoff(attempt: int, rng: random.Random) -> float:
    """Google's advice: exponential, with jitter so retrying callers spread out."""
    return min(1.0, 0.2 * (2**attempt)) * (0.5 + rng.random() / 2)


class CalendarApiClient:
    """Requests to Calendar API v3 for one account, with retries inside ``budget_seconds``."""

    def __init__(
        self,
        base_url: str,
        tokens: TokenSource,
        *,
        http: httpx.AsyncClient | None = None,
        budget_seconds: float = 4.0,
        request_timeout: float = 3.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._tokens = tokens
        self._http = http  # None: the event loop's shared client
        self._budget = budget_seconds
        self._timeout = request_timeout
        self._rng = random.Random()

    async def get(self, path: str, *, params: dict[str, str] | None = None,
                  budget_seconds: float | None = None) -> dict[str, Any]:
        """GET a resource."""
        response = await self.request("GET", path, params=params,
                                      budget_seconds=budget_seconds)
        return dict(response.json())

    async def get_all(self, path: str, *, params: dict[str, str]) -> list[dict[str, Any]]:
        """Every item of a list, following ``nextPageToken``."""
        page = await self.get(path, params=params)
        items = list(page.get("items", []))
        while token := page.get("nextPageToken"):
            page = await self.get(path, params={**params, "pageToken": str(token)})
            items.extend(page.get("items", []))
        return items

    async def request(self, method: str, path: str, *, params: dict[str, str] | None = None,
                      json: Any = None, budget_seconds: float | None = None) -> httpx.Response:
        """Send one logical request; returns the 2xx response.

        Raises :class:`GoogleApiError` for refusals and :class:`GoogleUnavailable` when Google
        does not answer within the budget.
        """
        url = self.base_url + path
        deadline = time.monotonic() + (self._budget if budget_seconds is None
                                       else budget_seconds)
        refreshed = False
        maybe_applied = False
        attempt = 0
        while True:
            token = await self._tokens.access_token(force_refresh=False)
            remaining = max(0.1, deadline - time.monotonic())
            try:
                response = await (self._http or loop_client()).request(
                    method, url, params=params, json=json,
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=min(self._timeout, remaining),
                )
            except httpx.TransportError as exc:
                maybe_applied = maybe_applied or method != "GET"
                wait, why = backoff(attempt, self._rng), type(exc).__name__
            else:
                if response.is_success:
                    return response
                reason, message = error_reason(response)
                status = response.status_code
                if status == 401 and not refreshed:
                    refreshed = True
                    await self._tokens.access_token(force_refresh=True)
                    continue
                if status == 429 or (status == 403 and reason in RATE_LIMIT_REASONS) \
                        or status in SERVER_ERRORS:
                    maybe_applied = maybe_applied or (status in SERVER_ERRORS
                                                      and method != "GET")
                    wait = retry_after_seconds(response.headers.get("Retry-After"))
                    wait = backoff(attempt, self._rng) if wait is None else wait
                    why = f"HTTP {status} {reason}"
                    log.info("Google %s %s: %s, retrying in %.2fs",
                             method, urlsplit(url).path, why, wait)
                else:
                    await self._refuse(status, reason, message)
            attempt += 1
            if time.monotonic() + wait > deadline:
                raise GoogleUnavailable(f"the calendar is not answering ({why})",
                                        maybe_applied=maybe_applied)
            await asyncio.sleep(wait)

    async def _refuse(self, status: int, reason: str, message: str) -> None:
        # A duplicate id or a gone event is an answer the adapter expects, not a fault.
        log.log(logging.INFO if status in (404, 409, 410) else logging.WARNING,
                "Google refused: HTTP %s %s", status, reason)
        if status == 401:
            raise CalendarUnavailable(f"Google refused the token ({reason})")
        if status == 403 and reason in CONSENT_REASONS:
            why = f"Google denied access ({reason}): calendar access missing or revoked"
            await self._tokens.consent_lost(why)
            raise CalendarUnavailable(why, needs_reconnect=True)
        if status == 403 and reason in ("dailyLimitExceeded", "quotaExceeded"):
            raise CalendarUnavailable(f"the calendar's quota is used up ({reason})")
        raise GoogleApiError(status, reason, message)
