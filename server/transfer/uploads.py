"""Local files to Mosaic assets: the three-step upload, streamed from disk.

Uploads stream in 1 MiB chunks read on a worker thread — never the whole file in memory —
through Mosaic's flow (upload URL → multipart POST → finalize). Every file comes from
`files.FileRoots`, which decided it may be read, and is read only through `LocalFile.open`: one
open, without following links, of the very file that was checked; nothing opens it by name again.
"""

import hashlib
import os
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO

import anyio
import anyio.to_thread
from pydantic import BaseModel, Field

from ..api.errors import InvalidInputError, MissingKeyError
from ..api.models import AssetKind
from ..api.mosaic import MosaicClient
from ..api.requests import Attachment, RunRequest, VideoInput
from ..local_files import FileRoots, LocalFile
from .progress import CHUNK, ByteMeter, Progress


class UploadedAsset(BaseModel):
    """A local file now stored in Mosaic."""

    asset_id: str = Field(description="Use in run_agent's video_ids (videos) or in update_params.")
    kind: AssetKind = Field(description="video, image or audio.")
    filename: str = Field(description="The file's name.")
    size_bytes: int = Field(description="Its size.")
    content_type: str = Field(description="Its MIME type.")
    path: str = Field(description="The local file that was uploaded.")


async def upload_local_file(mosaic: MosaicClient, local: LocalFile, progress: Progress | None = None) -> UploadedAsset:
    """Upload one checked local file: open it (the checked file or nothing) → get URL → stream → finalize."""
    if not mosaic.has_key:
        raise MissingKeyError("Mosaic")
    with anyio.CancelScope(shield=True):  # a cancel here must not drop an open handle on the floor
        handle, opened = await anyio.to_thread.run_sync(local.open)
    with handle:
        ticket = await mosaic.get_upload_url(opened.kind)
        meter = ByteMeter(progress, opened.size, f"uploading {opened.filename}")
        await meter.start()
        await mosaic.upload_to_signed_url(
            ticket,
            _read_chunks(handle, meter),
            filename=opened.filename,
            content_type=opened.content_type,
            size=opened.size,
        )
    await meter.finish()
    done = await mosaic.finalize_upload(opened.kind, ticket.asset_id)
    return UploadedAsset(
        asset_id=done.asset_id,
        kind=opened.kind,
        filename=opened.filename,
        size_bytes=opened.size,
        content_type=opened.content_type,
        path=str(opened.path),
    )


async def _read_chunks(handle: BinaryIO, meter: ByteMeter) -> AsyncIterator[bytes]:
    while chunk := await anyio.to_thread.run_sync(handle.read, CHUNK):
        yield chunk
        await meter.add(len(chunk))


@dataclass
class RunFiles:
    """Local files given to run_agent: checked first, uploaded only after the run's pre-flight.

    Until then the request carries placeholder ids (the pre-flight checks only that inputs are
    present), so a wrong agent or parameter costs no upload.
    """

    top: list[LocalFile]
    per_input: list[list[LocalFile]]

    @classmethod
    def check(cls, roots: FileRoots, files: Sequence[str], per_input: Sequence[Sequence[str]]) -> "RunFiles":
        """Check every path (no request is sent)."""
        top = [roots.readable_file(p, f"files[{i}]") for i, p in enumerate(files)]
        entries = [
            [roots.readable_file(p, f"video_inputs[{n}].files[{i}]") for i, p in enumerate(paths)]
            for n, paths in enumerate(per_input)
        ]
        for field, local in [(f"files[{i}]", f) for i, f in enumerate(top)] + [
            (f"video_inputs[{n}].files[{i}]", f) for n, e in enumerate(entries) for i, f in enumerate(e)
        ]:
            if local.kind != "video":
                raise InvalidInputError(field, f"'{local.path.name}' is {local.kind}; agent inputs must be videos")
        return cls(top, entries)

    def video_ids(self, given: Sequence[str]) -> list[str]:
        """Top-level video_ids with placeholders for the local files."""
        return [*given, *(_placeholder(f) for f in self.top)]

    def video_input(self, index: int, entry: VideoInput) -> VideoInput:
        """One video_inputs entry with placeholders for its local files."""
        extra = self.per_input[index] if index < len(self.per_input) else []
        return entry.model_copy(update={"video_ids": [*entry.video_ids, *(_placeholder(f) for f in extra)]})

    async def upload(self, mosaic: MosaicClient, request: RunRequest, progress: Progress | None) -> RunRequest:
        """Upload the files and swap the placeholders for the new asset ids."""
        ids: dict[str, str] = {}
        for local in [*self.top, *(f for entry in self.per_input for f in entry)]:
            key = _placeholder(local)
            if key not in ids:
                ids[key] = (await upload_local_file(mosaic, local, progress)).asset_id

        def swap(values: list[str]) -> list[str]:
            return [ids.get(v, v) for v in values]

        return request.model_copy(
            update={
                "video_ids": swap(request.video_ids),
                "video_inputs": [e.model_copy(update={"video_ids": swap(e.video_ids)}) for e in request.video_inputs],
            }
        )

    def __bool__(self) -> bool:
        return bool(self.top or any(self.per_input))


def _placeholder(local: LocalFile) -> str:
    # Short and plain whatever the path (length, control characters): it must pass the id rules.
    return "local-file:" + hashlib.sha256(os.fsencode(local.path)).hexdigest()[:32]


async def attachment_from_path(
    mosaic: MosaicClient, local: LocalFile, *, name: str | None, progress: Progress | None
) -> Attachment:
    """Upload a local file to Mosaic and attach it to a Motion job by its signed view URL."""
    if not mosaic.has_key:
        raise InvalidInputError(
            "attachments.path",
            "attaching a local file needs MOSAIC_API_KEY: the file is uploaded to Mosaic to get a link Motion can "
            "fetch. Set MOSAIC_API_KEY (a key starting with mk_), or give a public URL instead of a path",
        )
    asset = await upload_local_file(mosaic, local, progress)
    view = await mosaic.get_view_url(asset.kind, asset.asset_id)
    return Attachment(
        url=view.signed_url, name=name or local.filename, type=local.kind, content_type=local.content_type
    )
