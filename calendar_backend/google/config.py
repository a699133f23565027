"""What the Google adapter needs to know, handed down by the application shell.

The shell reads settings once and builds a :class:`GoogleConfig`; nothing in this package
reads the environment.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import SecretStr


@dataclass(frozen=True, slots=True, kw_only=True)
class GoogleConfig:
    """The Google OAuth client, the endpoints to reach and the token key.

    No defaults: the shell builds it from its settings, where the defaults live once.
    """

    calendar_base_url: str
    auth_url: str
    token_url: str
    revoke_url: str
    client_id: str | None
    client_secret: SecretStr | None
    redirect_uri: str
    # Fernet key encrypting calendar tokens at rest.
    token_key: SecretStr | None
    # A call's first busy-time read comes from the synced copy when the last sync is at most
    # this many seconds old (0: always Google).
    synced_fresh_seconds: float
