"""The SDK's `OAuthAuthorizationServerProvider` over the OAuth store: this server signs people in itself.

`/authorize` (the SDK's handler, which has already checked the client, the exact redirect URI, the
scope and PKCE's S256 challenge) lands here; this provider parks the request and sends the browser to
the sign-in page (`signin.py`), which calls `issue_code` once the person's keys are proved. Tokens
are opaque random strings, stored hashed: access tokens live an hour, refresh tokens 30 days and
rotate on each use, and revoking either revokes both.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    RefreshToken,
    TokenError,
    construct_redirect_uri,
)
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

from .store import OAuthStore, StoredToken
from .vault import Vault, new_secret

__all__ = ["ACCESS_TOKEN_SECONDS", "CODE_SECONDS", "REFRESH_TOKEN_SECONDS", "SIGNIN_SECONDS", "MosaicOAuthProvider"]

ACCESS_TOKEN_SECONDS = 3600
REFRESH_TOKEN_SECONDS = 30 * 24 * 3600
CODE_SECONDS = 300
SIGNIN_SECONDS = 900
"""How long a person has to finish the sign-in page after their host sent them there."""

SIGNIN_PATH = "/signin"


class MosaicOAuthProvider:
    """Clients, codes and tokens for this server's own MCP endpoint (`resource`)."""

    def __init__(
        self,
        store: OAuthStore,
        vault: Vault,
        *,
        issuer: str,
        resource: str,
        default_scopes: list[str],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.vault = vault
        self.issuer = issuer.rstrip("/")
        self.resource = resource
        self.default_scopes = default_scopes
        """Granted when the authorization request names no scope."""
        self.now = clock

    # -- clients ---------------------------------------------------------------------------------
    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        """A registered client."""
        info = await self.store.client(client_id)
        return None if info is None else OAuthClientInformationFull.model_validate_json(info)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        """Dynamic client registration (the SDK has validated the metadata)."""
        assert client_info.client_id is not None  # the SDK's registration handler always assigns one
        await self.store.save_client(client_info.client_id, client_info.model_dump_json(exclude_none=True))

    # -- authorization ---------------------------------------------------------------------------
    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        """Park the request and send the person to the sign-in page."""
        if params.resource is not None and params.resource.rstrip("/") != self.resource.rstrip("/"):
            raise AuthorizeError("invalid_target", f"this server only issues tokens for {self.resource}")
        request = new_secret()
        assert client.client_id is not None
        await self.store.add_pending(
            self.vault.digest(request), client.client_id, params.model_dump(mode="json"), SIGNIN_SECONDS
        )
        return f"{self.issuer}{SIGNIN_PATH}?request={request}"

    async def issue_code(self, request: str, subject: str) -> str | None:
        """The client's redirect URI with a fresh code for a finished sign-in; None if it was already answered."""
        request_hash = self.vault.digest(request)
        pending = await self.store.pending(request_hash)
        if pending is None or not await self.store.drop_pending(request_hash):
            return None
        params = AuthorizationParams.model_validate(pending.params)
        code = new_secret()
        fields = AuthorizationCode(
            code="-",  # stored without the code itself
            scopes=params.scopes or self.default_scopes,
            expires_at=self.now() + CODE_SECONDS,
            client_id=pending.client_id,
            code_challenge=params.code_challenge,
            redirect_uri=params.redirect_uri,
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly,
            resource=params.resource or self.resource,
            subject=subject,
        )
        await self.store.add_code(
            self.vault.digest(code), pending.client_id, subject, fields.model_dump_json(), fields.expires_at
        )
        return construct_redirect_uri(str(params.redirect_uri), code=code, state=params.state)

    async def deny(self, request: str) -> str | None:
        """The client's redirect URI with `access_denied`, when the person declines; None if already answered."""
        request_hash = self.vault.digest(request)
        pending = await self.store.pending(request_hash)
        if pending is None or not await self.store.drop_pending(request_hash):
            return None
        params = AuthorizationParams.model_validate(pending.params)
        return construct_redirect_uri(str(params.redirect_uri), error="access_denied", state=params.state)

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> AuthorizationCode | None:
        """A code this client was given (the SDK refuses it when expired, or on a PKCE or redirect mismatch)."""
        assert client.client_id is not None
        data = await self.store.code(self.vault.digest(authorization_code), client.client_id)
        if data is None:
            return None
        return AuthorizationCode.model_validate_json(data).model_copy(update={"code": authorization_code})

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: AuthorizationCode
    ) -> OAuthToken:
        """Tokens for a code, which works once."""
        if not await self.store.take_code(self.vault.digest(authorization_code.code)):
            raise TokenError("invalid_grant", "this authorization code was already used")
        assert authorization_code.subject is not None
        return await self._issue(
            authorization_code.client_id,
            authorization_code.subject,
            authorization_code.scopes,
            authorization_code.resource,
        )

    # -- tokens ----------------------------------------------------------------------------------
    async def load_refresh_token(self, client: OAuthClientInformationFull, refresh_token: str) -> RefreshToken | None:
        """A live refresh token of this client."""
        row = await self.store.token(self.vault.digest(refresh_token), "refresh")
        if row is None or row.client_id != client.client_id:
            return None
        return RefreshToken(
            token=refresh_token,
            client_id=row.client_id,
            scopes=row.scopes,
            expires_at=int(row.expires_at),
            resource=row.resource,
            subject=row.subject,
        )

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: RefreshToken, scopes: list[str]
    ) -> OAuthToken:
        """New tokens for a refresh token; the old pair stops working (rotation)."""
        row = await self.store.token(self.vault.digest(refresh_token.token), "refresh")
        if row is None:
            raise TokenError("invalid_grant", "this refresh token was revoked or already used")
        await self.store.revoke_grant(row.grant_id)
        return await self._issue(row.client_id, row.subject, scopes or row.scopes, row.resource)

    async def load_access_token(self, token: str) -> AccessToken | None:
        """The live access token behind a bearer (None: unknown, expired or revoked)."""
        row = await self.store.token(self.vault.digest(token), "access")
        if row is None:
            return None
        return AccessToken(
            token=token,
            client_id=row.client_id,
            scopes=row.scopes,
            expires_at=int(row.expires_at),
            resource=row.resource,
            subject=row.subject,
            claims={"iss": self.issuer},
        )

    async def revoke_token(self, token: AccessToken | RefreshToken) -> None:
        """Revoke a token and the other token of its pair."""
        digest = self.vault.digest(token.token)
        for kind in ("access", "refresh"):
            row = await self.store.token(digest, kind)
            if row is not None:
                await self.store.revoke_grant(row.grant_id)

    async def exchange_identity_assertion(self, client: OAuthClientInformationFull, params: Any) -> OAuthToken:
        """SEP-990 assertions are not accepted."""
        raise TokenError("unsupported_grant_type", "this server signs people in with their keys only")

    async def _issue(self, client_id: str, subject: str, scopes: list[str], resource: str | None) -> OAuthToken:
        access, refresh, grant = new_secret(), new_secret(), new_secret()
        now = self.now()
        common: dict[str, Any] = {
            "client_id": client_id,
            "subject": subject,
            "scopes": scopes,
            "resource": resource or self.resource,
            "grant_id": grant,
        }
        await self.store.add_tokens(
            [
                (
                    self.vault.digest(access),
                    StoredToken(kind="access", expires_at=now + ACCESS_TOKEN_SECONDS, **common),
                ),
                (
                    self.vault.digest(refresh),
                    StoredToken(kind="refresh", expires_at=now + REFRESH_TOKEN_SECONDS, **common),
                ),
            ]
        )
        return OAuthToken(
            access_token=access,
            expires_in=ACCESS_TOKEN_SECONDS,
            scope=" ".join(scopes) or None,
            refresh_token=refresh,
        )
