"""Google's OAuth 2.0 endpoints as a browser and an OAuth client see them: the authorization
page (consent, PKCE, offline access), the token endpoint and revocation."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote, urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from tests.fakes.google.state import Account, AuthCode, RequestRecord, World

ISSUER = "https://accounts.google.com"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _id_token(world: World, account: Account) -> str:
    """An ID token for the account (signed with a throwaway key: clients read it unverified,
    straight from the token endpoint)."""
    now = int(time.time())
    claims = {"iss": ISSUER, "azp": world.client_id, "aud": world.client_id,
              "sub": account.subject, "email": account.email, "email_verified": True,
              "at_hash": _b64url(secrets.token_bytes(16)), "iat": now, "exp": now + 3600}
    header = {"alg": "RS256", "kid": "emulator", "typ": "JWT"}
    return ".".join((_b64url(json.dumps(header).encode()), _b64url(json.dumps(claims).encode()),
                     _b64url(secrets.token_bytes(256))))


def _error(error: str, description: str, status: int = 400) -> tuple[int, dict[str, str]]:
    return status, {"error": error, "error_description": description}


def router(world: World) -> APIRouter:
    """Routes of the OAuth endpoints bound to ``world``."""
    api = APIRouter()

    def log(request: Request, status: int, body: object = None, error: str | None = None) -> None:
        with world.lock:
            world.log.append(RequestRecord("oauth", request.method, request.url.path,
                                           dict(request.query_params), status, None, body, error))

    @api.get("/o/oauth2/v2/auth")
    async def authorize(request: Request) -> Response:
        q = request.query_params
        redirect_uri, state = q.get("redirect_uri", ""), q.get("state")
        if q.get("client_id") != world.client_id:
            log(request, 401, error="invalid_client")
            return HTMLResponse("<h1>Access blocked: Authorization Error</h1>"
                                "<p>Error 401: invalid_client</p>", 401)
        if not redirect_uri or q.get("response_type") != "code":
            log(request, 400, error="invalid_request")
            return HTMLResponse("<p>Error 400: invalid_request</p>", 400)
        challenge = q.get("code_challenge")
        if challenge and q.get("code_challenge_method", "plain") not in ("S256", "plain"):
            log(request, 400, error="invalid_request")
            return HTMLResponse("<p>Error 400: invalid_request (code_challenge_method)</p>", 400)
        with world.lock:
            hint = (q.get("login_hint") or "").lower()
            email = hint if hint in world.accounts else world.next_sign_in
            if email is None and world.accounts:
                email = next(iter(world.accounts))
            account = world.accounts.get((email or "").lower())
            if account is None:
                log(request, 400)
                return HTMLResponse("<p>No account to sign in with.</p>", 400)
            if world.deny_consent:
                params = {"error": "access_denied"}
            else:
                asked = q.get("scope", "").split()
                granted = [s for s in asked if s not in world.withheld_scopes]
                if q.get("include_granted_scopes") == "true":
                    granted += sorted(account.granted_scopes - set(granted))
                code = "4/0A" + secrets.token_urlsafe(40)
                world.codes[code] = AuthCode(
                    code, account.email.lower(), redirect_uri, " ".join(granted),
                    (challenge if q.get("code_challenge_method") == "S256" else
                     _b64url(hashlib.sha256(challenge.encode()).digest())) if challenge
                    else None,
                    q.get("access_type") == "offline", datetime.now(UTC))
                params = {"code": code, "scope": " ".join(granted)}
            if state is not None:
                params["state"] = state
        log(request, 302)
        sep = "&" if "?" in redirect_uri else "?"
        return RedirectResponse(f"{redirect_uri}{sep}{urlencode(params)}", status_code=302)

    @api.post("/token")
    async def token(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        _client_from_basic(request, form)
        safe = {k: v for k, v in form.items()
                if k not in ("client_secret", "code", "refresh_token", "code_verifier")}
        with world.lock:
            if world.token_faults:
                status = world.token_faults.pop(0)
                log(request, status, safe, "backend_error")
                return JSONResponse({"error": "internal_failure",
                                     "error_description": "Backend Error"}, status)
            status, body = _token(world, form)
        log(request, status, safe, body.get("error") if status >= 400 else None)
        return JSONResponse(body, status, headers={"Cache-Control": "no-cache, no-store"})

    @api.post("/revoke")
    async def revoke(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        value = form.get("token") or request.query_params.get("token", "")
        with world.lock:
            found = world.refresh_tokens.get(value) or world.access_tokens.get(value)
            if found is None or found.revoked:
                log(request, 400, error="invalid_token")
                return JSONResponse({"error": "invalid_token",
                                     "error_description": "Token expired or revoked"}, 400)
            world.revoke_grant(found.email)
        log(request, 200)
        return JSONResponse({}, 200)

    return api


def _client_from_basic(request: Request, form: dict[str, str]) -> None:
    """Client credentials may come as HTTP Basic (client_secret_basic) instead of the form."""
    auth = request.headers.get("authorization", "")
    if auth.startswith("Basic "):
        user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        form.setdefault("client_id", unquote(user))
        form.setdefault("client_secret", unquote(password))


def _token(world: World, form: dict[str, str]) -> tuple[int, dict[str, object]]:
    if form.get("client_id") != world.client_id:
        return _error("invalid_client", "The OAuth client was not found.", 401)
    if form.get("client_secret") != world.client_secret:
        return _error("invalid_client", "Unauthorized", 401)
    grant = form.get("grant_type")
    if grant == "authorization_code":
        code = world.codes.get(form.get("code", ""))
        if code is None or code.used or datetime.now(UTC) - code.issued > timedelta(minutes=10):
            return _error("invalid_grant", "Bad Request")
        code.used = True
        if form.get("redirect_uri") != code.redirect_uri:
            return _error("redirect_uri_mismatch", "Bad Request")
        if code.code_challenge is not None:
            verifier = form.get("code_verifier", "")
            if not verifier:
                return _error("invalid_request", "code_verifier or verifier is not needed.")
            if _b64url(hashlib.sha256(verifier.encode()).digest()) != code.code_challenge:
                return _error("invalid_grant", "Invalid code verifier.")
        account = world.account(code.email)
        account.granted_scopes |= set(code.scope.split())
        at, rt = world.issue(account.email.lower(), code.scope, with_refresh=code.offline)
        body: dict[str, object] = {"access_token": at.value,
                                   "expires_in": world.access_token_lifetime,
                                   "scope": code.scope, "token_type": "Bearer"}
        if rt is not None:
            body["refresh_token"] = rt.value
        if "openid" in code.scope.split():
            body["id_token"] = _id_token(world, account)
        return 200, body
    if grant == "refresh_token":
        rt = world.refresh_tokens.get(form.get("refresh_token", ""))
        if rt is None or rt.revoked or rt.expires <= datetime.now(UTC):
            return _error("invalid_grant", "Token has been expired or revoked.")
        account = world.account(rt.email)
        at, _ = world.issue(rt.email, rt.scope, with_refresh=False)
        # Google keeps the refresh token: the answer carries none.
        body = {"access_token": at.value, "expires_in": world.access_token_lifetime,
                "scope": rt.scope, "token_type": "Bearer"}
        if "openid" in rt.scope.split():
            body["id_token"] = _id_token(world, account)
        return 200, body
    return _error("unsupported_grant_type", "Invalid grant_type: " + str(grant))


__all__ = ["router"]
