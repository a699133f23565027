"""Reading the redirect a sign-in comes back with (any provider's authorization-code flow)."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl, urlsplit


def redirect_parameters(redirect: str | Mapping[str, str]) -> dict[str, str]:
    """The parameters of the redirect: a pasted URL's query, or a form_post body."""
    if isinstance(redirect, str):
        parts = urlsplit(redirect.strip())
        return dict(parse_qsl(parts.query or parts.fragment))
    return dict(redirect)
