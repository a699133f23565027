"""Waiting on this machine for the browser to come back from a sign-in (any provider)."""

from __future__ import annotations

import html
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qsl, urlsplit


def wait_for_redirect(redirect_uri: str, timeout: float) -> dict[str, str]:
    """Serve the redirect URI on this machine until the browser comes back to it."""
    target = urlsplit(redirect_uri)
    if target.scheme != "http" or target.hostname not in ("localhost", "127.0.0.1"):
        raise ValueError(f"cannot listen on {redirect_uri}: use --no-listen and --redirect-url")
    received: dict[str, str] = {}

    class Callback(BaseHTTPRequestHandler):
        def _answer(self, params: dict[str, str]) -> None:
            if urlsplit(self.path).path != target.path or "state" not in params:
                self.send_error(404)
                return
            received.update(params)
            page = "Signed in. You can close this window." if "code" in params else \
                f"Sign-in failed: {html.escape(params.get('error', 'unknown error'))}"
            body = f"<html><body><p>{page}</p></body></html>".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self._answer(dict(parse_qsl(urlsplit(self.path).query)))

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length", "0"))
            self._answer(dict(parse_qsl(self.rfile.read(length).decode())))

        def log_message(self, *args: object) -> None:
            return None  # the query carries the authorization code: never log it

    server = HTTPServer((target.hostname, target.port or 80), Callback)
    server.timeout = 0.5
    deadline = time.monotonic() + timeout
    try:
        while not received:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no sign-in came back within {timeout:.0f} s")
            server.handle_request()
    finally:
        server.server_close()
    return received
