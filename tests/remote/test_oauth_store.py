"""The OAuth store on its own, on SQLite and PostgreSQL: expired rows are swept, rows replaced, codes used once,
and nothing it holds is readable without the secret."""

from pathlib import Path

import pytest
from pydantic import SecretStr

from mosaic_mcp.server.database import Database
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


@pytest.fixture
def oauth_source(store_source: Path | Database) -> Path | Database:
    """The OAuth store's own SQLite file (as the server opens it), or the shared PostgreSQL database."""
    return store_source.with_name("oauth.sqlite3") if isinstance(store_source, Path) else store_source


async def test_a_new_sign_in_sweeps_every_expired_row(oauth_source: Path | Database) -> None:
    """Expired pending sign-ins, tokens and sessions are deleted when the next sign-in starts; live ones stay."""
    clock = Clock()
    store = OAuthStore(oauth_source, clock=clock)
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


async def test_clients_and_people_are_replaced_and_a_code_works_once(oauth_source: Path | Database) -> None:
    """Registering a client or saving a person again replaces the row; a code is taken once; signing out
    removes the person's keys, tokens and sessions."""
    store = OAuthStore(oauth_source, clock=Clock())
    try:
        await store.save_client("c1", '{"client_name": "old"}')
        await store.save_client("c1", '{"client_name": "new"}')
        assert await store.client("c1") == '{"client_name": "new"}' and await store.count("oauth_clients") == 1
        await store.save_person("s1", b"\x00sealed-1", None)
        await store.save_person("s1", b"\x00sealed-2", "org-1")
        assert await store.person("s1") == (b"\x00sealed-2", "org-1")
        await store.add_code("h1", "c1", "s1", '{"scopes": []}', expires_at=5000)
        assert await store.code("h1", "c1") == '{"scopes": []}' and await store.code("h1", "c2") is None
        assert await store.take_code("h1") and not await store.take_code("h1")
        await store.add_tokens([("t1", StoredToken("access", "c1", "s1", ["mosaic"], "https://m/mcp", 5000, "g1"))])
        assert await store.clients_of("s1") == [("c1", "new")]
        await store.add_session("sess", "s1", ttl=60)
        assert await store.session("sess") == "s1"
        await store.forget("s1")
        assert await store.person("s1") is None and await store.token("t1", "access") is None
        assert await store.session("sess") is None
    finally:
        await store.close()


def test_a_vault_under_another_secret_reads_nothing() -> None:
    """Keys sealed under one MOSAIC_MCP_SECRET_KEY do not decrypt under another; digests differ too."""
    mine, other = Vault(SecretStr(SECRET_KEY)), Vault(SecretStr(SECRET_KEY + "x"))
    blob = mine.encrypt("mk_test_value")
    assert mine.decrypt(blob) == "mk_test_value" and b"mk_test_value" not in blob
    with pytest.raises(VaultError, match="sign in again"):
        other.decrypt(blob)
    assert mine.digest("token") != other.digest("token")
