"""The Microsoft identity platform (v2.0 endpoints) as MSAL and a browser see it."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse

from tests.fakes.microsoft.state import PERSONAL_TENANT, Account, RequestRecord, World

PUBLIC_HOST = "https://login.microsoftonline.com"
RESERVED = {"openid", "profile", "offline_access", "email"}
DESCRIPTIONS = {
    700082: "The refresh token has expired due to inactivity.",
    50173: "The provided grant has expired due to it being revoked, a fresh auth token is needed.",
    65001: "The user or administrator has not consented to use the application.",
    50076: "Due to a configuration change made by your administrator, you must use multi-factor "
           "authentication to access the resource.",
    54005: "OAuth2 Authorization code was already redeemed, please retry with a new valid code.",
    70008: "The provided authorization code or refresh token has expired due to inactivity.",
    501481: "The Code_Verifier does not match the code_challenge supplied in the authorization "
            "request.",
    7000215: "Invalid client secret provided.",
    700016: "Application was not found in the directory.",
    50011: "The redirect URI specified in the request does not match the redirect URIs "
           "configured for the application.",
    65004: "User declined to consent to access the app.",
    90094: "Admin consent is required for the permissions requested by this application.",
    500208: "The domain is not a valid login domain for the account type.",
}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def error_body(error: str, code: int, suberror: str | None = None) -> dict[str, object]:
    """The token endpoint's error JSON for ``AADSTS<code>``."""
    trace, corr = secrets.token_hex(16), secrets.token_hex(16)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    body: dict[str, object] = {
        "error": error,
        "error_description": f"AADSTS{code}: {DESCRIPTIONS.get(code, 'Error.')}\r\n"
                             f"Trace ID: {trace}\r\nCorrelation ID: {corr}\r\nTimestamp: {stamp}",
        "error_codes": [code],
        "timestamp": stamp,
        "trace_id": trace,
        "correlation_id": corr,
        "error_uri": f"{PUBLIC_HOST}/error?code={code}",
    }
    if suberror:
        body["suberror"] = suberror
    return body


def _id_token(world: World, account: Account, nonce: str | None) -> str:
    now = int(time.time())
    claims = {
        "aud": world.client_id,
        "iss": f"{PUBLIC_HOST}/{account.tenant_id}/v2.0",
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "name": account.display_name,
        "oid": account.object_id,
        "preferred_username": account.username,
        "sub": _b64url(hashlib.sha256(account.object_id.encode()).digest()),
        "tid": account.tenant_id,
        "ver": "2.0",
    }
    if nonce:
        claims["nonce"] = nonce
    header = {"typ": "JWT", "alg": "none"}
    return f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}."


def router(world: World) -> APIRouter:
    """Routes of the identity platform bound to ``world``."""
    api = APIRouter()

    def log(request: Request, status: int, body: object = None) -> None:
        with world.lock:
            world.log.append(RequestRecord("login", request.method, request.url.path,
                                           dict(request.query_params), status, None, body))

    @api.get("/common/discovery/instance")
    async def discovery(request: Request) -> JSONResponse:
        log(request, 200)
        return JSONResponse({
            "tenant_discovery_endpoint":
                f"{PUBLIC_HOST}/common/v2.0/.well-known/openid-configuration",
            "api-version": "1.1",
            "metadata": [{
                "preferred_network": "login.microsoftonline.com",
                "preferred_cache": "login.windows.net",
                "aliases": ["login.microsoftonline.com", "login.windows.net",
                            "login.microsoft.com", "sts.windows.net"],
            }],
        })

    @api.get("/{tenant}/v2.0/.well-known/openid-configuration")
    async def openid_configuration(tenant: str, request: Request) -> JSONResponse:
        log(request, 200)
        base = f"{PUBLIC_HOST}/{tenant}"
        issuer_tenant = "{tenantid}" if tenant in ("common", "organizations", "consumers") \
            else tenant
        return JSONResponse({
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "issuer": f"{PUBLIC_HOST}/{issuer_tenant}/v2.0",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "token_endpoint_auth_methods_supported": ["client_secret_post",
                                                       "private_key_jwt", "client_secret_basic"],
            "code_challenge_methods_supported": ["plain", "S256"],
            "tenant_region_scope": None,
        })

    @api.get("/{tenant}/oauth2/v2.0/authorize")
    async def authorize(tenant: str, request: Request) -> Response:
        q = request.query_params
        redirect_uri, state = q.get("redirect_uri", ""), q.get("state")
        if q.get("client_id") != world.client_id:
            log(request, 400)
            return HTMLResponse(f"<p>AADSTS700016: {DESCRIPTIONS[700016]}</p>", 400)
        if q.get("response_type") != "code" or not redirect_uri:
            log(request, 400)
            return HTMLResponse("<p>AADSTS900144: The request body must contain "
                                "response_type and redirect_uri.</p>", 400)
        with world.lock:
            hint = (q.get("login_hint") or "").lower()
            username = hint if hint in world.accounts else world.next_sign_in
            if username is None and world.accounts:
                username = next(iter(world.accounts))
            account = world.accounts.get((username or "").lower())
            if account is None:
                log(request, 400)
                return HTMLResponse("<p>No account to sign in with.</p>", 400)
            if world.admin_consent_required:
                log(request, 200)
                return HTMLResponse(f"<h1>Need admin approval</h1><p>AADSTS90094: "
                                    f"{DESCRIPTIONS[90094]}</p>")
            wrong_kind = (tenant == "consumers" and not account.personal) or \
                (tenant == "organizations" and account.personal)
            if world.deny_consent or wrong_kind:
                code = 65004 if world.deny_consent else 500208
                params = {"error": "access_denied" if world.deny_consent else "invalid_request",
                          "error_description": f"AADSTS{code}: {DESCRIPTIONS[code]}"}
            else:
                challenge = q.get("code_challenge")
                if challenge and q.get("code_challenge_method", "plain") != "S256":
                    log(request, 400)
                    return HTMLResponse("<p>AADSTS501491: only S256 is accepted here.</p>", 400)
                code = "0.AX" + secrets.token_urlsafe(32)
                world.codes[code] = _new_code(world, code, account, q, challenge)
                params = {"code": code, "session_state": secrets.token_hex(16)}
            if state is not None:
                params["state"] = state
        if q.get("response_mode") == "form_post":
            fields = "".join(f'<input type="hidden" name="{html.escape(k)}" '
                             f'value="{html.escape(v)}"/>' for k, v in params.items())
            log(request, 200)
            return HTMLResponse(f'<html><body onload="document.forms[0].submit()">'
                                f'<form method="POST" action="{html.escape(redirect_uri)}">'
                                f"{fields}</form></body></html>")
        log(request, 302)
        sep = "&" if "?" in redirect_uri else "?"
        return RedirectResponse(f"{redirect_uri}{sep}{urlencode(params)}", status_code=302)

    @api.post("/{tenant}/oauth2/v2.0/token")
    async def token(tenant: str, request: Request) -> Response:
        form = dict(await request.form())
        safe = {k: v for k, v in form.items()
                if k not in ("client_secret", "code", "refresh_token", "code_verifier")}
        with world.lock:
            if world.token_faults:
                status, retry_after, as_json = world.token_faults.pop(0)
                log(request, status, safe)
                headers = {"Retry-After": retry_after} if retry_after else {}
                if not as_json:
                    return PlainTextResponse("Service Unavailable", status, headers=headers)
                return JSONResponse(error_body("temporarily_unavailable", 50196), status,
                                    headers=headers)
            status, body = _token(world, form)
        log(request, status, safe)
        return JSONResponse(body, status, headers={"Cache-Control": "no-store"})

    return api


def _new_code(world: World, code: str, account: Account, q: object, challenge: str | None):
    from tests.fakes.microsoft.state import AuthCode

    get = q.get  # type: ignore[attr-defined]
    return AuthCode(code, account.username.lower(), get("client_id"), get("redirect_uri"),
                    get("scope", ""), challenge, get("nonce"), datetime.now(UTC))


def _token(world: World, form: dict[str, str]) -> tuple[int, dict[str, object]]:
    if form.get("client_id") != world.client_id:
        return 400, error_body("unauthorized_client", 700016)
    if form.get("client_secret") != world.client_secret:
        return 401, error_body("invalid_client", 7000215)
    grant = form.get("grant_type")
    if grant == "authorization_code":
        code = world.codes.get(form.get("code", ""))
        if code is None:
            return 400, error_body("invalid_grant", 70008)
        if code.used:
            return 400, error_body("invalid_grant", 54005)
        code.used = True
        if datetime.now(UTC) - code.issued > timedelta(minutes=10):
            return 400, error_body("invalid_grant", 70008)
        if form.get("redirect_uri") != code.redirect_uri:
            return 400, error_body("invalid_grant", 50011)
        if code.code_challenge is not None:
            verifier = form.get("code_verifier", "")
            if _b64url(hashlib.sha256(verifier.encode()).digest()) != code.code_challenge:
                return 400, error_body("invalid_grant", 501481)
        account = world.account(code.username)
        scope = form.get("scope") or code.scope
        account.granted_scopes |= set(scope.split()) - RESERVED
        return 200, _issue(world, account, scope, code.nonce)
    if grant == "refresh_token":
        rt = world.refresh_tokens.get(form.get("refresh_token", ""))
        if rt is None or rt.revoked:
            return 400, error_body("invalid_grant", 50173)
        account = world.account(rt.username)
        failure = account.refresh_failure
        if failure is not None:
            return 400, error_body(failure.error, failure.code, failure.suberror)
        scope = form.get("scope") or rt.scope
        missing = set(scope.split()) - RESERVED - account.granted_scopes
        if missing:
            return 400, error_body("invalid_grant", 65001, "consent_required")
        return 200, _issue(world, account, scope, None)
    return 400, error_body("unsupported_grant_type", 70003)


def _issue(world: World, account: Account, scope: str, nonce: str | None) -> dict[str, object]:
    at, rt = world.issue_tokens(account.username.lower(), scope)
    client_info = _b64url(json.dumps({"uid": account.object_id,
                                      "utid": account.tenant_id}).encode())
    return {
        "token_type": "Bearer",
        "scope": scope,
        "expires_in": world.access_token_lifetime,
        "ext_expires_in": world.access_token_lifetime,
        "access_token": at.value,
        "refresh_token": rt.value,
        "id_token": _id_token(world, account, nonce),
        "client_info": client_info,
    }


__all__ = ["PERSONAL_TENANT", "router"]
