"""Move files between the user's disk and Mosaic: upload one, save a finished job's outputs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcp.types import ListRootsResult

from ..local_files import file_roots
from ..transfer import DownloadResult, Progress, UploadedAsset, download_outputs, upload_local_file

if TYPE_CHECKING:
    from ..runtime import Runtime


async def upload_from_disk(
    rt: Runtime, path: str, *, roots: ListRootsResult, progress: Progress | None
) -> UploadedAsset:
    """Upload the file at `path` (inside the allowed folders) to Mosaic as an asset."""
    local = file_roots(rt.settings, roots).readable_file(path, "path")
    return await upload_local_file(rt.mosaic, local, progress)


async def save_outputs(
    rt: Runtime,
    job_id: str,
    *,
    roots: ListRootsResult,
    directory: str | None,
    output_id: str | None,
    include_premiere: bool,
    progress: Progress | None,
) -> DownloadResult:
    """Save a finished job's outputs into `directory` (inside the allowed folders; default: the download folder)."""
    folder = file_roots(rt.settings, roots).writable_dir(directory, "directory")
    return await download_outputs(
        rt.jobs,
        rt.mosaic.transfers,
        job_id,
        folder=folder,
        output_id=output_id,
        include_premiere=include_premiere,
        progress=progress,
        max_bytes=rt.settings.max_download_bytes,
        verify_md5=rt.settings.verify_download_md5,
    )
