"""Google sign-in with authlib: the OAuth 2.0 web flow (offline access, PKCE S256) and refresh.

Every endpoint is a setting (``GoogleConfig``), so an emulator can stand in for Google. The
token endpoint's ``invalid_grant`` (revoked, expired, password changed) means only the owner
signing in again helps.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from typing import Any

import httpx
import httpx2
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError
from pydantic import BaseModel, ConfigDict, Field

from calendar_backend.google.config import GoogleConfig

# Busy times, events we create, and the calendar list to choose from; openid/email name the
# account. Nothing here reads the contents of the owner's own events.
SCOPES = [
    "openid",
    "email",
    "https://www.googleapis.com/auth/calendar.calendarlist.readonly",
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/calendar.freebusy",
]
# Token-endpoint errors that only the owner signing in again can fix.
_RECONNECT_ERRORS = frozenset({"invalid_grant"})
# authlib's client speaks httpx2 (older authlib: httpx); a bad answer body is a ValueError.
_TRANSPORT_ERRORS = (httpx.HTTPError, httpx2.HTTPError, OSError, ValueError)


class SignInNotConfigured(RuntimeError):
    """No Google client id / secret configured."""


class SignInFailed(RuntimeError):
    """The sign-in did not produce tokens; ``str()`` says why, without secrets."""


class TokenRefreshFailed(RuntimeError):
    """A refresh failed; ``needs_reconnect`` when only a new sign-in helps."""

    def __init__(self, reason: str, *, needs_reconnect: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.needs_reconnect = needs_reconnect


def _client(config: GoogleConfig, **kwargs: Any) -> AsyncOAuth2Client:
    if not config.client_id or config.client_secret is None:
        raise SignInNotConfigured(
            "set BOOKING_AGENT_GOOGLE_CLIENT_ID and BOOKING_AGENT_GOOGLE_CLIENT_SECRET "
            "(a Google Cloud OAuth client of type 'Web application' with this redirect URI)"
        )
    return AsyncOAuth2Client(
        client_id=config.client_id, client_secret=config.client_secret.get_secret_value(),
        redirect_uri=config.redirect_uri, code_challenge_method="S256", timeout=10.0,
        **kwargs,
    )


@dataclass(frozen=True)
class Authorization:
    """A started sign-in: the URL for the owner, and what must stay server-side."""

    url: str
    state: str
    code_verifier: str


async def start_flow(config: GoogleConfig, *, login_hint: str | None = None) -> Authorization:
    """A new authorization-code flow with PKCE, asking for a refresh token."""
    verifier = generate_token(64)
    extra = {"login_hint": login_hint} if login_hint else {}
    async with _client(config, scope=" ".join(SCOPES)) as client:
        # offline + consent: Google returns a refresh token on every sign-in, reconnects too.
        url, state = client.create_authorization_url(
            config.auth_url, code_verifier=verifier, access_type="offline", prompt="consent",
            include_granted_scopes="true", **extra)
    return Authorization(url, state, verifier)


@dataclass(frozen=True)
class Account:
    """Who signed in: Google's stable subject id and the address."""

    subject: str
    email: str


class IdTokenClaims(BaseModel):
    """The ID token claims that name the account."""

    model_config = ConfigDict(extra="ignore")

    sub: str = Field(min_length=1)
    email: str | None = None


def token_account(token: dict[str, Any]) -> Account:
    """The account an ID token from the token endpoint names.

    It came straight from the token endpoint over TLS, so its claims are read without
    checking the signature (OpenID Connect Core 3.1.3.7).
    """
    try:
        payload = str(token["id_token"]).split(".")[1]
        claims = IdTokenClaims.model_validate_json(
            base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (KeyError, IndexError, ValueError):  # pydantic's ValidationError is a ValueError
        raise SignInFailed("Google returned no usable ID token") from None
    return Account(claims.sub, claims.email or claims.sub)


async def finish_flow(config: GoogleConfig, code: str, code_verifier: str) -> dict[str, Any]:
    """Redeem the code the redirect carried; raises :class:`SignInFailed`."""
    async with _client(config) as client:
        try:
            token = await client.fetch_token(config.token_url, grant_type="authorization_code",
                                             code=code, code_verifier=code_verifier)
        except OAuthError as exc:
            raise SignInFailed(f"Google refused the sign-in: {exc.error}") from None
        except _TRANSPORT_ERRORS as exc:
            raise SignInFailed(f"Google's token endpoint failed ({type(exc).__name__})") \
                from None
    if not token.get("refresh_token"):
        raise SignInFailed("Google returned no refresh token (offline access not granted)")
    granted = set(str(token.get("scope", "")).split())
    missing = [s for s in SCOPES if s.startswith("https://") and s not in granted]
    if missing:
        raise SignInFailed("calendar access was not granted (tick every calendar box on "
                           "Google's consent screen and connect again)")
    return dict(token)


async def refresh(config: GoogleConfig, refresh_token: str) -> dict[str, Any]:
    """New access token for the refresh token; raises :class:`TokenRefreshFailed`."""
    async with _client(config) as client:
        try:
            token = await client.refresh_token(config.token_url, refresh_token=refresh_token)
        except OAuthError as exc:
            reason = f"{exc.error}: {exc.description}" if exc.description else str(exc.error)
            raise TokenRefreshFailed(reason, needs_reconnect=exc.error in _RECONNECT_ERRORS) \
                from None
        except _TRANSPORT_ERRORS as exc:
            raise TokenRefreshFailed(f"Google's token endpoint unreachable "
                                     f"({type(exc).__name__})", needs_reconnect=False) from None
    token = dict(token)
    token.setdefault("refresh_token", refresh_token)  # Google keeps the old one
    if "expires_at" not in token:
        token["expires_at"] = int(time.time()) + int(token.get("expires_in", 0))
    return token


async def revoke(config: GoogleConfig, refresh_token: str) -> bool:
    """Revoke the grant at Google (disconnect); False when Google could not be reached."""
    try:
        async with httpx.AsyncClient(timeout=10.0) as http:
            answer = await http.post(config.revoke_url, data={"token": refresh_token})
    except httpx.HTTPError:
        return False
    # 400 invalid_token: already revoked (the owner removed the app first).
    return answer.is_success or answer.status_code == 400
