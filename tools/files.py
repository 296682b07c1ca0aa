"""Core tools for local files: upload_file, download_output."""

from typing import Annotated, Any

from mcp.server.mcpserver import Context, Resolve
from mcp.types import ListRootsResult
from pydantic import Field

from ..server.local_files import client_roots
from ..server.runtime import Runtime
from ..server.transfer import DownloadResult, UploadedAsset
from ..server.usecases import save_outputs, upload_from_disk
from ._registry import CREATE, WRITE_LOCAL, Registrar, runtime

ClientRoots = Annotated[ListRootsResult, Resolve(client_roots)]
"""The client's MCP roots (filled by the server, not by the model)."""


def register(tools: Registrar) -> None:
    """Register the file tools."""

    @tools.tool(toolset="core", annotations=CREATE, title="Upload a local file to Mosaic", local_only=True)
    async def upload_file(
        path: Annotated[
            str,
            Field(
                min_length=1,
                max_length=4096,
                description="Path of a video, audio or image file on this computer, e.g. ~/Videos/launch.mov "
                "(relative paths start at the first allowed folder).",
            ),
        ],
        ctx: Context[Runtime, Any],
        roots: ClientRoots,
    ) -> UploadedAsset:
        """Upload a file from the user's disk to Mosaic and return its asset id; spends no credits
        (it creates an asset). Video ids go into run_agent's video_ids — but run_agent and the Motion
        tools also take local paths directly. Only files inside the allowed folders can be read;
        limits: video 5 GB (MP4, MOV, AVI, WebM, MKV, M4V), audio 500 MB, image 50 MB."""
        return await upload_from_disk(runtime(ctx), path, roots=roots, progress=ctx.report_progress)

    @tools.tool(toolset="core", annotations=WRITE_LOCAL, title="Save a finished job's videos to disk", local_only=True)
    async def download_output(
        job_id: Annotated[str, Field(min_length=1, max_length=200, description="job_id of a finished job.")],
        ctx: Context[Runtime, Any],
        roots: ClientRoots,
        output_id: Annotated[
            str | None, Field(description="Only this output (see poll_job's outputs); default: all of them.")
        ] = None,
        directory: Annotated[
            str | None,
            Field(
                description="Folder to save into (must be inside the allowed folders); default: the download folder."
            ),
        ] = None,
        include_premiere: Annotated[
            bool, Field(description="Also save the Premiere Pro timeline zip of Mosaic outputs, when offered.")
        ] = False,
    ) -> DownloadResult:
        """Save the videos (and thumbnails) of a FINISHED Mosaic run or Motion session to the user's
        disk; free. Files already there with the same size are kept, so calling it again is safe;
        expired links are renewed automatically. Returns the saved paths and sizes. If the job is
        still running, call poll_job first."""
        return await save_outputs(
            runtime(ctx),
            job_id,
            roots=roots,
            directory=directory,
            output_id=output_id,
            include_premiere=include_premiere,
            progress=ctx.report_progress,
        )
