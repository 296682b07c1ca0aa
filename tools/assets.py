"""Toolset `assets`: short-lived view URLs for uploaded assets."""

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from pydantic import Field

from ..server.api.models import ViewUrl
from ..server.runtime import Runtime
from ._common import Id
from ._registry import READ, Registrar, runtime


def register(tools: Registrar) -> None:
    """Register the asset tools."""

    @tools.tool(toolset="assets", annotations=READ, title="Get a view URL for an asset")
    async def get_asset_view_url(
        asset_type: Annotated[Literal["video", "audio", "image"], Field(description="The asset's kind.")],
        asset_id: Annotated[Id, Field(description="An uploaded asset id (video_id, audio_id or image_id).")],
        ctx: Context[Runtime, Any],
    ) -> ViewUrl:
        """Get a short-lived signed URL (and thumbnail) to look at an uploaded asset; free."""
        return await runtime(ctx).mosaic.get_view_url(asset_type, asset_id)
