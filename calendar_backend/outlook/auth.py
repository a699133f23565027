"""Microsoft sign-in with MSAL: the authorization-code flow (PKCE, state, nonce) and silent tokens.

MSAL keeps the real authority string (``https://login.microsoftonline.com/<tenant>``) and gets
an HTTP client that sends to ``config.login_url``, so an emulator can stand in for
the identity platform without MSAL knowing. MSAL is synchronous: call these from a thread.
"""

from __future__ import annotations

import json
import logging
import threading
import warnings
from dataclasses import dataclass
from typing import Any

import httpx
import msal

from calendar_backend.outlook.config import OutlookConfig

SCOPES = ["Calendars.ReadWrite", "User.Read", "MailboxSettings.Read"]
PUBLIC_LOGIN_URL = "https://login.microsoftonline.com"
PERSONAL_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"
# Token-endpoint errors that only the owner signing in again can fix.
_RECONNECT_ERRORS = frozenset(
    {"invalid_grant", "interaction_required", "consent_required", "login_required"}
)
# OAuth errors meaning "not now" (what a 429 from the token endpoint carries).
_TEMPORARY_ERRORS = frozenset({"temporarily_unavailable", "server_error"})
# How the identity platform failing to answer reaches us: MSAL raises MsalServiceError for a
# 5xx from the token endpoint (and for a failed metadata fetch), and passes on the
# JSONDecodeError of an error page that is not JSON (a 429 from a gateway); the network fails
# as httpx's.
_UNREACHABLE = (msal.exceptions.MsalServiceError, json.JSONDecodeError, httpx.HTTPError,
                OSError)


class _WithoutTraceback(logging.Filter):
    """Keeps MSAL's line about an unreadable token response but drops its traceback: the
    outage is reported as one (see ``_UNREACHABLE``), never as a stack in the operator's log."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info, record.exc_text = None, None
        return True


logging.getLogger("msal.oauth2cli.oauth2").addFilter(_WithoutTraceback())


def _temporarily_unavailable(detail: str) -> str:
    return f"the Microsoft sign-in service is temporarily unavailable ({detail})"


def _unreachable(exc: BaseException) -> str:
    """Why the identity platform did not answer, for the operator (no secrets)."""
    if isinstance(exc, msal.exceptions.MsalServiceError):
        return _temporarily_unavailable(str(exc.args[0]) if exc.args else "service error")
    if isinstance(exc, json.JSONDecodeError):
        return _temporarily_unavailable("an answer that is not a token response")
    return f"the Microsoft sign-in service is unreachable ({type(exc).__name__})"


class SignInNotConfigured(RuntimeError):
    """No Microsoft client id / secret configured."""


class SignInFailed(RuntimeError):
    """The sign-in did not produce tokens; ``str()`` says why, without secrets."""


class SignInUnavailable(SignInFailed):
    """The identity platform is down or throttling (5xx, 429): the same sign-in may be retried."""


class TokenRefreshFailed(RuntimeError):
    """Silent acquisition failed; ``needs_reconnect`` when only a new sign-in helps."""

    def __init__(self, reason: str, *, needs_reconnect: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.needs_reconnect = needs_reconnect


class LoginHttpClient:
    """The ``http_client`` MSAL uses: requests to the public login host go to the configured URL."""

    def __init__(self, login_url: str) -> None:
        self._target = login_url.rstrip("/")
        self._client = httpx.Client(timeout=10.0)

    def _route(self, url: str) -> str:
        if url.startswith(PUBLIC_LOGIN_URL):
            return self._target + url[len(PUBLIC_LOGIN_URL):]
        return url

    def get(self, url: str, params: Any = None, headers: Any = None, **kwargs: Any
            ) -> httpx.Response:
        return self._client.get(self._route(url), params=params, headers=headers,
                                timeout=kwargs.get("timeout", 10.0))

    def post(self, url: str, params: Any = None, data: Any = None, headers: Any = None,
             **kwargs: Any) -> httpx.Response:
        return self._client.post(self._route(url), params=params, data=data, headers=headers,
                                 timeout=kwargs.get("timeout", 10.0))

    def close(self) -> None:
        self._client.close()


# One HTTP client and one MSAL http_cache per login URL, shared by every app instance, so
# OpenID metadata is fetched once per process rather than once per connection.
_shared: dict[str, tuple[LoginHttpClient, dict[str, Any]]] = {}
_shared_lock = threading.Lock()


def _transport(login_url: str) -> tuple[LoginHttpClient, dict[str, Any]]:
    with _shared_lock:
        if login_url not in _shared:
            _shared[login_url] = (LoginHttpClient(login_url), {})
        return _shared[login_url]


def public_sign_in_url(config: OutlookConfig, url: str) -> str:
    """The browser URL on the configured login host for an authorize URL MSAL built."""
    if url.startswith(PUBLIC_LOGIN_URL):
        return config.login_url.rstrip("/") + url[len(PUBLIC_LOGIN_URL):]
    return url


def build_app(config: OutlookConfig, cache: msal.SerializableTokenCache | None = None
              ) -> msal.ConfidentialClientApplication:
    """An MSAL confidential client for the configured app registration."""
    if not config.client_id or config.client_secret is None:
        raise SignInNotConfigured(
            "set BOOKING_AGENT_MICROSOFT_CLIENT_ID and BOOKING_AGENT_MICROSOFT_CLIENT_SECRET "
            "(an Entra app registration with a web redirect URI)"
        )
    http_client, http_cache = _transport(config.login_url)
    return msal.ConfidentialClientApplication(
        config.client_id,
        client_credential=config.client_secret.get_secret_value(),
        authority=f"{PUBLIC_LOGIN_URL}/{config.tenant}",
        token_cache=cache or msal.SerializableTokenCache(),
        http_client=http_client,
        http_cache=http_cache,
        instance_discovery=False,
    )


def start_flow(config: OutlookConfig, *, login_hint: str | None = None,
               domain_hint: str | None = None) -> dict[str, Any]:
    """A new authorization-code flow; keep it server-side, send the browser to its URL.

    Raises :class:`SignInUnavailable` when the identity platform does not answer.
    """
    try:
        app = build_app(config)
        with warnings.catch_warnings():
            # The query response mode is deliberate: a headless operator pastes the redirect
            # URL back. PKCE, state and the server-side flow protect the code.
            warnings.filterwarnings("ignore", message="response_mode='form_post'")
            return app.initiate_auth_code_flow(
                SCOPES, redirect_uri=config.redirect_uri, prompt="select_account",
                login_hint=login_hint, domain_hint=domain_hint,
            )
    except _UNREACHABLE as exc:
        raise SignInUnavailable(_unreachable(exc)) from None


@dataclass(frozen=True)
class SignedIn:
    """The result of a completed sign-in."""

    access_token: str
    home_account_id: str
    tenant_id: str
    object_id: str
    username: str
    cache: str  # MSAL's serialized token cache (holds the refresh token: encrypt it)

    @property
    def personal(self) -> bool:
        """Whether this is a personal Microsoft account (outlook.com, hotmail, live)."""
        return self.tenant_id == PERSONAL_TENANT_ID


def finish_flow(config: OutlookConfig, flow: dict[str, Any], auth_response: dict[str, str]
                ) -> SignedIn:
    """Redeem the code the redirect carried; raises :class:`SignInFailed`.

    :class:`SignInUnavailable` when the identity platform did not answer (the code was not
    redeemed: the same redirect may be tried again).
    """
    cache = msal.SerializableTokenCache()
    try:
        app = build_app(config, cache)
        result = app.acquire_token_by_auth_code_flow(flow, auth_response)
    except _UNREACHABLE as exc:
        raise SignInUnavailable(_unreachable(exc)) from None
    except ValueError:
        raise SignInFailed("the sign-in response does not belong to this sign-in "
                           "(state mismatch); start again") from None
    if result.get("error") in _TEMPORARY_ERRORS:
        raise SignInUnavailable(_temporarily_unavailable(describe_error(result)))
    if "error" in result:
        raise SignInFailed(describe_error(result))
    claims = result.get("id_token_claims") or {}
    accounts = app.get_accounts()
    if not accounts or "tid" not in claims or "oid" not in claims:
        raise SignInFailed("the identity platform returned no account")
    return SignedIn(
        access_token=result["access_token"],
        home_account_id=accounts[0]["home_account_id"],
        tenant_id=claims["tid"],
        object_id=claims["oid"],
        username=claims.get("preferred_username") or accounts[0].get("username", ""),
        cache=cache.serialize(),
    )


def describe_error(result: dict[str, Any]) -> str:
    """``"invalid_grant AADSTS700082"`` (plus suberror) from an MSAL error result."""
    codes = result.get("error_codes") or []
    parts = [str(result.get("error"))]
    parts += [f"AADSTS{code}" for code in codes]
    if result.get("suberror"):
        parts.append(f"({result['suberror']})")
    return " ".join(parts)


@dataclass(frozen=True)
class Token:
    """An access token and how long MSAL says it lives."""

    access_token: str
    expires_in: int
    cache: str | None  # the re-serialized cache when MSAL changed it


def acquire_silently(config: OutlookConfig, cache_text: str, home_account_id: str, *,
                     force_refresh: bool = False) -> Token:
    """An access token from the cache, refreshed by MSAL when due (or forced).

    Raises :class:`TokenRefreshFailed`.
    """
    cache = msal.SerializableTokenCache()
    cache.deserialize(cache_text or None)
    try:
        app = build_app(config, cache)
        account = next((a for a in app.get_accounts()
                        if a.get("home_account_id") == home_account_id), None)
        if account is None:
            raise TokenRefreshFailed("no stored sign-in for this account", needs_reconnect=True)
        result = app.acquire_token_silent_with_error(SCOPES, account,
                                                     force_refresh=force_refresh)
    except _UNREACHABLE as exc:
        raise TokenRefreshFailed(_unreachable(exc), needs_reconnect=False) from None
    if result is None:
        raise TokenRefreshFailed("no usable token in the cache", needs_reconnect=True)
    if result.get("error") in _TEMPORARY_ERRORS:
        raise TokenRefreshFailed(_temporarily_unavailable(describe_error(result)),
                                 needs_reconnect=False)
    if "error" in result:
        needs = result.get("error") in _RECONNECT_ERRORS
        raise TokenRefreshFailed(describe_error(result), needs_reconnect=needs)
    changed = cache.serialize() if cache.has_state_changed else None
    return Token(result["access_token"], int(result.get("expires_in", 0)), changed)
