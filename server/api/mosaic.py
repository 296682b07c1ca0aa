"""The typed async client of the Mosaic API: one method per endpoint of reference section 2.0.

The endpoints are grouped into mixins by area (`_agents`, `_runs`, `_assets`, `_avatars`,
`_triggers`, `_account`, `_social`); this module assembles them around one `HTTPCore`.
"""

from __future__ import annotations

import httpx2
from pydantic import SecretStr

from ..config import DEFAULT_MOSAIC_BASE_URL, Settings
from ._account import AccountAPI
from ._agents import AgentsAPI
from ._assets import AssetsAPI
from ._avatars import AvatarsAPI
from ._runs import RunsAPI
from ._social import SocialAPI
from ._triggers import TriggersAPI
from .transport import DEFAULT_TIMEOUT, HTTPCore, RetryPolicy
from .validation import CallbackPolicy


class MosaicClient(AgentsAPI, RunsAPI, TriggersAPI, AssetsAPI, AvatarsAPI, AccountAPI, SocialAPI):
    """Async client of https://api.mosaic.so; use as `async with MosaicClient(...) as mosaic:`."""

    def __init__(
        self,
        *,
        api_key: SecretStr | None,
        base_url: str = DEFAULT_MOSAIC_BASE_URL,
        workspace_id: str | None = None,
        timeout: httpx2.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"X-Workspace-Id": workspace_id} if workspace_id else None
        super().__init__(
            HTTPCore(
                service="Mosaic",
                base_url=base_url,
                api_key=api_key,
                extra_headers=headers,
                timeout=timeout,
                retry=retry,
                transport=transport,
            )
        )
        self.workspace_id = workspace_id

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        retry: RetryPolicy | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        timeout: httpx2.Timeout = DEFAULT_TIMEOUT,
    ) -> MosaicClient:
        """A client configured from `Settings` (key, base URL, workspace, where webhooks may go)."""
        client = cls(
            api_key=settings.mosaic_api_key,
            base_url=settings.mosaic_api_base_url,
            workspace_id=settings.workspace_id,
            timeout=timeout,
            retry=retry,
            transport=transport,
        )
        client.callbacks = CallbackPolicy(settings.allow_private_callbacks, settings.public_url)
        return client
