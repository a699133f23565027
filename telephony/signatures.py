"""Who may talk to the call server: Twilio's webhook signatures and per-call stream tokens.

Twilio signs the public URL it called plus the POST parameters with the account's auth
token. Behind a proxy the server sees another scheme and host, so the URL is rebuilt from
the configured public base URL, never from the request's Host header.

A media stream carries a token the server minted when it answered (or placed) that call:
an HMAC over the call, every stream parameter (campaign, caller, direction, name) and the
expiry. A connection without a valid token for the call it claims to be is refused, so
nobody can open a bot session by connecting.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping
from urllib.parse import urlsplit

from twilio.request_validator import RequestValidator

STREAM_TOKEN_SECONDS = 120.0


def public_request_url(public_url: str, path: str, query: str = "") -> str:
    """The URL Twilio called: the public base URL (with any path prefix) + path + query."""
    base = public_url.rstrip("/")
    url = f"{base}{path}"
    return f"{url}?{query}" if query else url


def websocket_url(public_url: str, path: str) -> str:
    """The wss:// (or ws:// for a plain-http base) URL of ``path`` on the public host."""
    parts = urlsplit(public_url.rstrip("/"))
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}{parts.path}{path}"


def valid_twilio_signature(
    auth_token: str, url: str, params: Mapping[str, str], signature: str | None
) -> bool:
    """Whether ``signature`` is Twilio's for ``url`` and the form ``params``."""
    if not signature:
        return False
    return RequestValidator(auth_token).validate(url, dict(params), signature)


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """The X-Twilio-Signature Twilio would send (used by the REST emulator's callbacks)."""
    return RequestValidator(auth_token).compute_signature(url, dict(params))


class StreamTokens:
    """Mints and checks the short-lived tokens that admit a media stream for one call."""

    def __init__(self, secret: str, *, lifetime_seconds: float = STREAM_TOKEN_SECONDS) -> None:
        # A key of its own, derived so the auth token itself never travels in TwiML.
        self._key = hmac.new(secret.encode(), b"booking-agent stream token", "sha256").digest()
        self._lifetime = lifetime_seconds

    def _mac(self, call_sid: str, parameters: Mapping[str, str], expires: int) -> str:
        fields = (call_sid, *(f"{k}={v}" for k, v in sorted(parameters.items())))
        message = "\x1f".join((*fields, str(expires))).encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def mint(self, call_sid: str, parameters: Mapping[str, str], *,
             now: float | None = None) -> str:
        """A token for this call's stream with exactly these ``parameters`` (campaign,
        caller, direction, ...), valid for the configured lifetime."""
        expires = int((now if now is not None else time.time()) + self._lifetime)
        return f"{expires}.{self._mac(call_sid, parameters, expires)}"

    def check(
        self, token: str | None, call_sid: str, parameters: Mapping[str, str],
        *, now: float | None = None,
    ) -> bool:
        """Whether ``token`` admits a stream for exactly this call and these parameters.

        It proves the server minted it, for this call, recently; that it starts one stream
        only is the database's part (``telephony.call_records.start_stream``).
        """
        if not token or "." not in token:
            return False
        expires_text, mac = token.split(".", 1)
        if not (expires_text.isascii() and expires_text.isdigit()):
            return False
        expires = int(expires_text)
        if expires < (now if now is not None else time.time()):
            return False
        return hmac.compare_digest(mac, self._mac(call_sid, parameters, expires))
