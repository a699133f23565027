"""What the Outlook adapter needs to know, handed down by the application shell.

The shell reads settings once and builds an :class:`OutlookConfig`; nothing in this package
reads the environment.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import SecretStr


@dataclass(frozen=True, slots=True, kw_only=True)
class OutlookConfig:
    """The Microsoft app registration, the endpoints to reach and the token key.

    No defaults: the shell builds it from its settings, where the defaults live once.
    """

    graph_base_url: str
    login_url: str
    client_id: str | None
    client_secret: SecretStr | None
    tenant: str
    redirect_uri: str
    # Fernet key encrypting calendar tokens at rest.
    token_key: SecretStr | None
    # A call's first availability read comes from the synced copy when the last sync is at
    # most this old (0: always from Graph).
    synced_fresh_seconds: float = 0.0
