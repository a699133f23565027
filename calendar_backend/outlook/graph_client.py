"""An httpx client for Graph v1.0 that survives a live call's faults.

* 429/503/504: wait ``Retry-After`` (seconds, possibly fractional, or an HTTP date; a short
  backoff when absent) and retry, within a live-call budget; past it, :class:`CalendarUnavailable`.
  A ``Retry-After`` holds the whole mailbox: Graph counts any request sent to it inside the
  window against the app, so every booking and availability lookup in the process waits it out.
* 401 ``InvalidAuthenticationToken``: refresh the token once and retry once.
* 403 ``ErrorAccessDenied``: consent is gone; the connection needs the owner to reconnect.
* At most four requests in flight per mailbox (Outlook's MailboxConcurrency limit).
* Errors are recognised by ``error.code``, never by message. Tokens are never logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
import weakref
from typing import Any
from urllib.parse import urlsplit

import httpx

from calendar_backend.api_http import (
    ApiUnavailable,
    TokenSource,
    error_member,
    retry_after_seconds,
)
from calendar_backend.api_http import loop_client as _loop_client
from calendar_backend.provider import CalendarUnavailable

log = logging.getLogger(__name__)

MAX_IN_FLIGHT = 4
# Immutable ids survive the owner moving an event between folders; Graph only returns them
# to requests that ask, so every request does.
IMMUTABLE_IDS = 'IdType="ImmutableId"'
RETRYABLE_STATUS = frozenset({429, 503, 504})


class GraphError(Exception):
    """Graph answered with an error that retrying will not fix."""

    def __init__(self, status: int, code: str, message: str, request_id: str | None) -> None:
        super().__init__(f"HTTP {status} {code}: {message}")
        self.status, self.code, self.message, self.request_id = status, code, message, request_id


class GraphUnavailable(ApiUnavailable):
    """Graph did not answer within the budget (``maybe_applied``: a 504 or a lost connection
    on a non-GET attempt)."""


def error_code(response: httpx.Response) -> tuple[str, str]:
    """``(error.code, error.message)`` of a Graph error response."""
    error = error_member(response)
    if error is None:
        return f"HTTP{response.status_code}", ""
    return str(error.get("code") or f"HTTP{response.status_code}"), str(error.get("message", ""))


# Per event loop, per mailbox: asyncio primitives belong to one loop.
_semaphores: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Semaphore]] \
    = weakref.WeakKeyDictionary()
# Per mailbox, for the whole process: the monotonic time until which Graph asked us to wait.
_held_until: dict[str, float] = {}


def _mailbox_semaphore(mailbox: str) -> asyncio.Semaphore:
    per_loop = _semaphores.setdefault(asyncio.get_running_loop(), {})
    if mailbox not in per_loop:
        per_loop[mailbox] = asyncio.Semaphore(MAX_IN_FLIGHT)
    return per_loop[mailbox]


def _hold_mailbox(mailbox: str, seconds: float) -> None:
    """Graph said ``Retry-After: seconds``: nothing goes to ``mailbox`` before then."""
    until = time.monotonic() + seconds
    if until > _held_until.get(mailbox, 0.0):
        _held_until[mailbox] = until


async def _wait_for_mailbox(mailbox: str, deadline: float) -> bool:
    """Wait out the mailbox's hold; False (without waiting) when it outlasts ``deadline``."""
    while (until := _held_until.get(mailbox, 0.0)) > (now := time.monotonic()):
        if until > deadline:
            return False
        await asyncio.sleep(until - now)
    return True


class GraphClient:
    """Requests to Graph for one mailbox, with retries inside ``budget_seconds``."""

    def __init__(
        self,
        base_url: str,
        tokens: TokenSource,
        *,
        mailbox: str,
        http: httpx.AsyncClient | None = None,
        budget_seconds: float = 4.0,
        request_timeout: float = 3.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._host = urlsplit(self.base_url).netloc
        self._tokens = tokens
        self._mailbox = mailbox
        self._http = http  # None: the event loop's shared client
        self._budget = budget_seconds
        self._timeout = request_timeout

    async def get(self, path: str, *, params: dict[str, str] | None = None,
                  headers: dict[str, str] | None = None,
                  budget_seconds: float | None = None) -> dict[str, Any]:
        """GET a Graph resource (retried freely: reads are idempotent)."""
        response = await self.request("GET", path, params=params, headers=headers,
                                      budget_seconds=budget_seconds)
        return dict(response.json())

    async def get_all(self, path: str, *, params: dict[str, str],
                      headers: dict[str, str] | None = None,
                      budget_seconds: float | None = None) -> list[dict[str, Any]]:
        """Every item of a collection, following ``@odata.nextLink`` (same host only)."""
        page = await self.get(path, params=params, headers=headers,
                              budget_seconds=budget_seconds)
        items = list(page.get("value", []))
        while next_link := page.get("@odata.nextLink"):
            if urlsplit(next_link).netloc != self._host:
                raise CalendarUnavailable("Graph paged to an unexpected host")
            page = await self.get(next_link, headers=headers, budget_seconds=budget_seconds)
            items.extend(page.get("value", []))
        return items

    async def request(self, method: str, path: str, *, params: dict[str, str] | None = None,
                      json: Any = None, headers: dict[str, str] | None = None,
                      retry_safe: bool = True,
                      budget_seconds: float | None = None) -> httpx.Response:
        """Send one logical request; returns the 2xx response.

        ``retry_safe`` is false for writes that could apply twice (never for our creates,
        which carry a ``transactionId``). Raises :class:`GraphError` for refusals and
        :class:`GraphUnavailable` when Graph does not answer within the budget.
        """
        url = path if path.startswith("https://") or path.startswith("http://") \
            else self.base_url + path
        deadline = time.monotonic() + (self._budget if budget_seconds is None
                                       else budget_seconds)
        refreshed = False
        maybe_applied = False
        attempt = 0
        while True:
            token = await self._tokens.access_token(force_refresh=False)
            send_headers = {"client-request-id": str(uuid.uuid4()), **(headers or {})}
            send_headers["Prefer"] = ", ".join(
                p for p in (IMMUTABLE_IDS, send_headers.get("Prefer")) if p)
            send_headers["Authorization"] = f"Bearer {token}"
            try:
                async with _mailbox_semaphore(self._mailbox):
                    remaining = max(0.1, deadline - time.monotonic())
                    response = await self._send(method, url, params=params, json=json,
                                                headers=send_headers,
                                                timeout=min(self._timeout, remaining),
                                                deadline=deadline, maybe_applied=maybe_applied)
            except httpx.TransportError as exc:
                maybe_applied = maybe_applied or method != "GET"
                if not retry_safe:
                    raise GraphUnavailable(f"Graph did not answer ({type(exc).__name__})",
                                           maybe_applied=maybe_applied) from None
                wait, why = _backoff(attempt), type(exc).__name__
            else:
                if response.is_success:
                    return response
                code, message = error_code(response)
                request_id = response.headers.get("request-id")
                status = response.status_code
                if status == 401 and code == "InvalidAuthenticationToken" and not refreshed:
                    refreshed = True
                    await self._tokens.access_token(force_refresh=True)
                    continue
                maybe_applied = maybe_applied or (status == 504 and method != "GET")
                announced = retry_after_seconds(response.headers.get("Retry-After"))
                if status in RETRYABLE_STATUS and retry_safe:
                    wait = _backoff(attempt) if announced is None else announced
                    why = f"HTTP {status} {code}"
                    log.info("Graph %s %s: %s (request-id %s), retrying in %.2fs",
                             method, urlsplit(url).path, why, request_id, wait)
                else:
                    await self._refuse(status, code, message, request_id)
            attempt += 1
            if time.monotonic() + wait > deadline:
                raise GraphUnavailable(f"the calendar is not answering ({why})",
                                       maybe_applied=maybe_applied)
            await asyncio.sleep(wait)

    async def _send(self, method: str, url: str, *, params: dict[str, str] | None,
                    json: Any, headers: dict[str, str], timeout: float, deadline: float,
                    maybe_applied: bool) -> httpx.Response:
        """One HTTP exchange, honouring the mailbox's hold.

        The hold is checked on the connection, just before the request's first byte goes
        out: a hold announced while this request waited for a connection applies to it too.
        A ``Retry-After`` holds the mailbox as soon as its headers arrive, before the
        connection is free for anyone else's request.
        """
        async def wait_out_hold() -> None:
            if not await _wait_for_mailbox(self._mailbox, deadline):
                raise GraphUnavailable("the calendar asked us to wait past the budget",
                                       maybe_applied=maybe_applied)

        async def before_sending(event: str, info: dict[str, Any]) -> None:
            if event.endswith("send_request_headers.started"):
                await wait_out_hold()

        await wait_out_hold()  # before taking a connection (and for transports without trace)
        http = self._http or _loop_client()
        request = http.build_request(method, url, params=params, json=json, headers=headers,
                                     timeout=timeout, extensions={"trace": before_sending})
        response = await http.send(request, stream=True)
        try:
            announced = retry_after_seconds(response.headers.get("Retry-After"))
            if announced is not None:
                _hold_mailbox(self._mailbox, announced)
            await response.aread()
        finally:
            await response.aclose()
        return response

    async def _refuse(self, status: int, code: str, message: str,
                      request_id: str | None) -> None:
        log.warning("Graph refused: HTTP %s %s (request-id %s)", status, code, request_id)
        if status == 401:
            raise CalendarUnavailable(f"Graph refused the token ({code})")
        if status == 403 and code in ("ErrorAccessDenied", "Forbidden", "accessDenied",
                                      "Authorization_RequestDenied"):
            reason = f"Graph denied access ({code}): consent missing or revoked"
            await self._tokens.consent_lost(reason)
            raise CalendarUnavailable(reason, needs_reconnect=True)
        if status == 404 and code == "MailboxNotEnabledForRESTAPI":
            raise CalendarUnavailable("this account has no Exchange Online mailbox")
        if status in RETRYABLE_STATUS or status >= 500:
            raise CalendarUnavailable(f"the calendar is not answering (HTTP {status} {code})")
        raise GraphError(status, code, message, request_id)


def _backoff(attempt: int) -> float:
    return min(1.0, 0.2 * (2**attempt))
