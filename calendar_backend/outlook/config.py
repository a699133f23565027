"""What the Outlook adapter needs to know, handed down by the application shell.

The shell reads settings once and builds an :class:`OutlookConfig`; nothing in this package
reads the environment.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import SecretStr


@dataclass(frozen=True, slots=True)
class OutlookConfig:
    """The Microsoft app registration, the endpoints to reach and the token key."""

    graph_base_url: str = "https://graph.microsoft.com/v1.0"
    login_url: str = "https://login.microsoftonline.com"
    client_id: str | None = None
    client_secret: SecretStr | None = None
    tenant: str = "common"
    redirect_uri: str = "http://localhost:8765/outlook/callback"
    # Fernet key encrypting calendar tokens at rest.
    token_key: SecretStr | None = None
