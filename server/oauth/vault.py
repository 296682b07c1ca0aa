"""Secrets at rest for OAuth mode: keys encrypted (Fernet), tokens kept only as keyed hashes.

Both derive from the deployment secret MOSAIC_MCP_SECRET_KEY through HKDF, each with its own label,
so the encryption key and the hashing key are never the same bytes. A token is a random string the
store never sees: it keeps `digest(token)`, and a leaked database yields neither keys nor tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import SecretStr

__all__ = ["Vault", "VaultError", "new_secret"]


class VaultError(RuntimeError):
    """A stored value does not decrypt under this deployment's secret (it was changed, or the row is damaged)."""


def new_secret() -> str:
    """A fresh token, code or nonce: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def _derive(secret: SecretStr, label: bytes) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"mosaic-mcp oauth", info=label)
    return hkdf.derive(secret.get_secret_value().encode())


class Vault:
    """Encrypts keys and hashes tokens under one deployment secret."""

    def __init__(self, secret: SecretStr) -> None:
        self._fernet = Fernet(base64.urlsafe_b64encode(_derive(secret, b"keys at rest")))
        self._mac_key = _derive(secret, b"token digests")

    def encrypt(self, value: str) -> bytes:
        """The value, encrypted and authenticated."""
        return self._fernet.encrypt(value.encode())

    def decrypt(self, blob: bytes) -> str:
        """The value `encrypt` was given."""
        try:
            return self._fernet.decrypt(blob).decode()
        except InvalidToken as exc:
            raise VaultError("a stored key does not decrypt with MOSAIC_MCP_SECRET_KEY; sign in again") from exc

    def digest(self, value: str) -> str:
        """A keyed hash: what the store keeps instead of a token, a code or a key."""
        return hmac.new(self._mac_key, value.encode(), hashlib.sha256).hexdigest()

    def same(self, a: str, b: str) -> bool:
        """Constant-time comparison of two strings."""
        return hmac.compare_digest(a.encode(), b.encode())
