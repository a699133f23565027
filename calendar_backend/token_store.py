"""Calendar tokens encrypted at rest with Fernet (key from ``BOOKING_AGENT_TOKEN_KEY``).

Shared by every provider: Outlook's MSAL caches and Google's OAuth tokens (and the pending
sign-ins of both) are stored only as this ciphertext.
"""

from __future__ import annotations

from typing import Protocol

from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr


class HasTokenKey(Protocol):
    """A provider config carrying the token key (``OutlookConfig``, ``GoogleConfig``)."""

    @property
    def token_key(self) -> SecretStr | None: ...


class TokenKeyMissing(RuntimeError):
    """Tokens must be stored or read but no token key is configured."""


class TokenKeyWrong(RuntimeError):
    """The stored tokens were encrypted with another key."""


class TokenCipher:
    """Encrypts and decrypts serialized token caches."""

    def __init__(self, key: str) -> None:
        try:
            self._fernet = Fernet(key.encode())
        except ValueError:
            raise TokenKeyMissing(
                "BOOKING_AGENT_TOKEN_KEY is not a valid Fernet key "
                "(make one with: booking-agent outlook new-key)"
            ) from None

    def encrypt(self, text: str) -> bytes:
        """The encrypted form of ``text``."""
        return self._fernet.encrypt(text.encode())

    def decrypt(self, blob: bytes) -> str:
        """The text of an encrypted blob."""
        try:
            return self._fernet.decrypt(bytes(blob)).decode()
        except InvalidToken:
            raise TokenKeyWrong(
                "stored calendar tokens cannot be decrypted with BOOKING_AGENT_TOKEN_KEY"
            ) from None


def cipher(config: HasTokenKey) -> TokenCipher:
    """The cipher for the configured key; raises :class:`TokenKeyMissing` without one."""
    if config.token_key is None or not config.token_key.get_secret_value():
        raise TokenKeyMissing(
            "BOOKING_AGENT_TOKEN_KEY is not set: calendar tokens are encrypted at rest "
            "(make a key with: booking-agent outlook new-key)"
        )
    return TokenCipher(config.token_key.get_secret_value())


def new_key() -> str:
    """A fresh Fernet key for ``BOOKING_AGENT_TOKEN_KEY``."""
    return Fernet.generate_key().decode()
