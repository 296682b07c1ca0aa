"""The OAuth store on its own: expired rows are swept, and nothing it holds is readable without the secret."""

from pathlib import Path

import pytest
from pydantic import SecretStr

from mosaic_mcp.server.oauth.store import OAuthStore, StoredToken
from mosaic_mcp.server.oauth.vault import Vault, VaultError

from .conftest import SECRET_KEY

pytestmark = pytest.mark.anyio


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_new_sign_in_sweeps_every_expired_row(tmp_path: Path) -> None:
    """Expired pending sign-ins, tokens and sessions are deleted when the next sign-in starts; live ones stay."""
    clock = Clock()
    store = OAuthStore(tmp_path / "o.sqlite3", clock=clock)
    try:
        await store.add_pending("old", "c1", {}, ttl=10)
        token = StoredToken("access", "c1", "s1", [], None, clock.now + 10, "g1")
        await store.add_tokens([("t-old", token), ("t-live", StoredToken("refresh", "c1", "s1", [], None, 5000, "g1"))])
        await store.add_session("sess-old", "s1", ttl=10)
        clock.now += 60
        await store.add_pending("new", "c1", {}, ttl=10)
        counts = [await store.count(t) for t in ("oauth_pending", "oauth_tokens", "oauth_sessions")]
    finally:
        await store.close()
    assert counts == [1, 1, 0]


def test_a_vault_under_another_secret_reads_nothing() -> None:
    """Keys sealed under one MOSAIC_MCP_SECRET_KEY do not decrypt under another; digests differ too."""
    mine, other = Vault(SecretStr(SECRET_KEY)), Vault(SecretStr(SECRET_KEY + "x"))
    blob = mine.encrypt("mk_test_value")
    assert mine.decrypt(blob) == "mk_test_value" and b"mk_test_value" not in blob
    with pytest.raises(VaultError, match="sign in again"):
        other.decrypt(blob)
    assert mine.digest("token") != other.digest("token")
