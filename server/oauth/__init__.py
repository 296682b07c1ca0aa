"""OAuth mode of `serve --http` (MOSAIC_MCP_AUTH=oauth): this server is the authorization server of its own endpoint.

Everything protocol-level is the SDK's (`mcp.server.auth`): the metadata documents (RFC 8414, RFC 9728),
dynamic client registration, `/authorize` with PKCE S256, `/token`, `/revoke`, bearer verification
and the `WWW-Authenticate` challenge on 401. This package supplies what the SDK leaves to a server:
the storage (`store.py`, keys encrypted and tokens hashed by `vault.py`), the provider
(`provider.py`), the sign-in and account pages (`signin.py`), and the contract's `PersonResolver`
(`OAuthMode.person`): access token → subject → decrypted keys → `Person`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mcp.server.auth.routes import build_resource_metadata_url
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions, RevocationOptions
from pydantic import SecretStr
from starlette.requests import Request
from starlette.routing import Route

from ..config import ConfigurationError, Settings
from ..database import Database
from ..people import Person
from .provider import MosaicOAuthProvider
from .signin import SignInPages, person_id
from .store import OAuthStore
from .vault import Vault, VaultError

__all__ = ["SCOPE", "STORE_FILE", "OAuthMode"]

SCOPE = "mosaic"
STORE_FILE = "oauth.sqlite3"
MCP_PATH = "/mcp"


@dataclass
class OAuthMode:
    """The provider, the SDK's auth settings and the pages, built from the settings."""

    provider: MosaicOAuthProvider
    auth: AuthSettings
    pages: SignInPages

    @classmethod
    def from_settings(
        cls, settings: Settings, settings_now: Callable[[], Settings] | None = None, *, database: Database | None = None
    ) -> OAuthMode:
        """Refuses (ConfigurationError) without MOSAIC_MCP_SECRET_KEY or MOSAIC_MCP_PUBLIC_URL.

        The store's tables are in `database` when given (MOSAIC_MCP_DATABASE_URL), else in `oauth.sqlite3`."""
        problems = []
        if settings.secret_key is None:
            problems.append(
                "MOSAIC_MCP_AUTH=oauth needs MOSAIC_MCP_SECRET_KEY: a long random string that encrypts the keys "
                "people sign in with (keep it; changing it signs everybody out)"
            )
        if settings.public_url is None:
            problems.append(
                "MOSAIC_MCP_AUTH=oauth needs MOSAIC_MCP_PUBLIC_URL: the https:// address hosts reach this server at "
                "(the OAuth issuer), e.g. https://mosaic-mcp.example.com"
            )
        if problems:
            raise ConfigurationError(problems)
        assert settings.secret_key is not None
        assert settings.public_url is not None
        issuer = settings.public_url.rstrip("/")
        resource = issuer + MCP_PATH
        store = OAuthStore(database or settings.home.expanduser() / STORE_FILE)
        provider = MosaicOAuthProvider(
            store, Vault(settings.secret_key), issuer=issuer, resource=resource, default_scopes=[SCOPE]
        )
        try:
            auth = AuthSettings(
                issuer_url=issuer,
                resource_server_url=resource,
                validate_token_resource=True,
                client_registration_options=ClientRegistrationOptions(
                    enabled=True, valid_scopes=[SCOPE], default_scopes=[SCOPE]
                ),
                revocation_options=RevocationOptions(enabled=True),
                required_scopes=[SCOPE],
            )
        except ValueError as exc:
            raise ConfigurationError(f"MOSAIC_MCP_PUBLIC_URL is not a URL an OAuth issuer can have: {exc}") from exc
        return cls(provider, auth, SignInPages(provider, settings_now or (lambda: settings)))

    def server_options(self) -> dict[str, Any]:
        """What `MCPServer(...)` takes to serve the SDK's authorization server and check bearer tokens."""
        return {"auth": self.auth, "auth_server_provider": self.provider}

    detail = (
        "this server signs each person in with OAuth: your MCP host starts the sign-in by itself on this 401 "
        "(or connect again); the sign-in page asks for your Mosaic and/or Motion key once"
    )
    """What a request acting for nobody is told (the body of the 401 beside `challenge`)."""

    @property
    def challenge(self) -> str:
        """The `WWW-Authenticate` of a request without a person: the SDK's, naming the RFC 9728 metadata."""
        metadata = build_resource_metadata_url(self.auth.resource_server_url or self.auth.issuer_url)
        return (
            f'Bearer error="invalid_token", error_description="Authentication required", resource_metadata="{metadata}"'
        )

    def routes(self) -> list[Route]:
        """The sign-in and account pages."""
        return self.pages.routes()

    async def person(self, request: Request) -> Person | None:
        """The contract's `PersonResolver`: the person a bearer access token was issued to, with their keys."""
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        access = await self.provider.load_access_token(token.strip())
        if access is None or access.subject is None:
            return None
        stored = await self.provider.store.person(access.subject)
        if stored is None:
            return None
        try:
            keys = json.loads(self.provider.vault.decrypt(stored[0]))
        except VaultError:
            return None
        return Person(
            id=person_id(access.subject),
            mosaic_api_key=SecretStr(keys["mosaic"]) if keys.get("mosaic") else None,
            motion_api_key=SecretStr(keys["motion"]) if keys.get("motion") else None,
        )
