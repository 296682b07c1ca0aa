"""Moving bytes between the user's disk and the services: uploads, downloads, thumbnails.

Uploads stream from disk in 1 MiB chunks read on a worker thread (never the whole file in
memory) through Mosaic's three-step flow. Downloads stream into a temporary file in the target
folder and are renamed into place only when complete (`os.replace`), so a reader never sees half
a video; a file already there with the same size is kept. Signed URLs expire: a 4xx on one
re-reads the job for freshly signed URLs and tries once more. Every path comes from
`files.FileRoots`, which decided it may be used.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import anyio
import anyio.to_thread
import httpx2
from pydantic import BaseModel, Field

from .api.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    InvalidInputError,
    MissingKeyError,
    MosaicMCPError,
    error_class_for,
)
from .api.models import AssetKind
from .api.mosaic import MosaicClient
from .api.requests import Attachment, RunRequest, VideoInput
from .files import FileRoots, LocalFile, safe_filename
from .images import FETCH_MAX_BYTES, Preview, preview
from .jobs.service import JobService
from .jobs.snapshot import JobOutput, JobSnapshot

Progress = Callable[[float, float | None, str | None], Awaitable[None]]
"""`ctx.report_progress`-shaped callback: (done, total, message)."""

CHUNK = 1 << 20
DOWNLOAD_TIMEOUT = httpx2.Timeout(connect=15.0, read=120.0, write=60.0, pool=15.0)
_REFRESHABLE = {400, 401, 403, 404, 410}  # how expired / revoked signed URLs answer


class UploadedAsset(BaseModel):
    """A local file now stored in Mosaic."""

    asset_id: str = Field(description="Use in run_agent's video_ids (videos) or in update_params.")
    kind: AssetKind
    filename: str
    size_bytes: int
    content_type: str
    path: str = Field(description="The local file that was uploaded.")


class SavedFile(BaseModel):
    """One file written (or already present) on disk."""

    output_id: str
    part: Literal["video", "thumbnail", "premiere"]
    path: str
    size_bytes: int
    skipped: bool = Field(description="True when an identical-size file was already there (not downloaded again).")


class DownloadResult(BaseModel):
    """What download_output saved."""

    job_id: str
    directory: str
    files: list[SavedFile]
    bytes_downloaded: int


# --- uploads -----------------------------------------------------------------------------------


async def upload_local_file(mosaic: MosaicClient, local: LocalFile, progress: Progress | None = None) -> UploadedAsset:
    """Upload one checked local file: get URL → stream the bytes → finalize."""
    if not mosaic.has_key:
        raise MissingKeyError("Mosaic")
    ticket = await mosaic.get_upload_url(local.kind)
    meter = _Meter(progress, local.size, f"uploading {local.filename}")
    await meter.start()
    await mosaic.upload_to_signed_url(
        ticket,
        _read_chunks(local.path, meter),
        filename=local.filename,
        content_type=local.content_type,
        size=local.size,
    )
    await meter.finish()
    done = await mosaic.finalize_upload(local.kind, ticket.asset_id)
    return UploadedAsset(
        asset_id=done.asset_id,
        kind=local.kind,
        filename=local.filename,
        size_bytes=local.size,
        content_type=local.content_type,
        path=str(local.path),
    )


async def _read_chunks(path: Path, meter: _Meter) -> AsyncIterator[bytes]:
    async with await anyio.open_file(path, "rb") as handle:
        while chunk := await handle.read(CHUNK):
            yield chunk
            await meter.add(len(chunk))


class _Meter:
    """Byte progress, throttled to about one notification per percent (and per MiB at most)."""

    def __init__(self, report: Progress | None, total: int | None, label: str, done: int = 0) -> None:
        self.report, self.total, self.label = report, total, label
        self.done = self.last = done
        self.step = max(CHUNK, (total or 0) // 100)

    async def start(self) -> None:
        await self._send()

    async def add(self, count: int) -> None:
        self.done += count
        if self.done - self.last >= self.step:
            await self._send()

    async def finish(self) -> None:
        if self.done != self.last:
            await self._send()

    async def _send(self) -> None:
        self.last = self.done
        if self.report is not None:
            total = f" of {_mb(self.total)}" if self.total else ""
            await self.report(self.done, self.total, f"{self.label}: {_mb(self.done)}{total}")


def _mb(size: int) -> str:
    return f"{size / (1 << 20):,.1f} MB"


@dataclass
class RunFiles:
    """Local files given to run_agent: checked first, uploaded only after the run's pre-flight.

    Until then the request carries placeholder ids (the pre-flight checks only that inputs are
    present), so a wrong agent or parameter costs no upload.
    """

    top: list[LocalFile]
    per_input: list[list[LocalFile]]

    @classmethod
    def check(cls, roots: FileRoots, files: Sequence[str], per_input: Sequence[Sequence[str]]) -> RunFiles:
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
    return f"local-file:{local.path}"


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


# --- downloads ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Item:
    output_id: str
    part: Literal["video", "thumbnail", "premiere"]
    filename: str


async def download_outputs(
    jobs: JobService,
    client: httpx2.AsyncClient,
    job_id: str,
    *,
    folder: Path,
    output_id: str | None = None,
    include_premiere: bool = False,
    progress: Progress | None = None,
) -> DownloadResult:
    """Save a settled job's outputs (all, or one) into `folder`; see the module docstring."""
    record = await jobs.refresh(job_id)
    snapshot = record.snapshot
    if not snapshot.settled:
        raise InvalidInputError(
            "job_id",
            f"'{job_id}' is not finished yet (status {snapshot.status}): call poll_job('{job_id}', "
            "wait_seconds=30) until settled is true, then download_output",
        )
    items = _plan(snapshot, output_id, include_premiere)
    meter = _Meter(progress, None, "downloading")
    await meter.start()
    links = _Links(jobs, snapshot)
    saved: list[SavedFile] = []
    for n, item in enumerate(items):
        meter.label = f"{item.filename} ({n + 1}/{len(items)})"
        saved.append(await _download_item(client, links, item, folder, meter, last=n == len(items) - 1))
    await meter.finish()
    return DownloadResult(job_id=job_id, directory=str(folder), files=saved, bytes_downloaded=meter.done)


def _plan(snapshot: JobSnapshot, output_id: str | None, include_premiere: bool) -> list[_Item]:
    outputs = _choose(snapshot, output_id)
    items: list[_Item] = []
    for output in outputs:
        base = f"{snapshot.job_id[:8]}-{output.output_id[:8]}"
        parts: list[tuple[Literal["video", "thumbnail", "premiere"], str | None, str]] = [
            ("video", output.video_url, ".mp4"),
            ("thumbnail", output.thumbnail_url, ".png"),
        ]
        if include_premiere:
            parts.append(("premiere", output.premiere_url, ".zip"))
        for part, url, default_ext in parts:
            if url:
                suffix = "" if part == "video" else f"-{part}"
                name = safe_filename(f"{base}{suffix}{_extension(url, default_ext)}")
                items.append(_Item(output.output_id, part, name))
    if not items:
        raise InvalidInputError("job_id", f"'{snapshot.job_id}' has nothing to download (status {snapshot.status})")
    return items


def _choose(snapshot: JobSnapshot, output_id: str | None) -> list[JobOutput]:
    if output_id is None:
        return snapshot.outputs
    exact = [o for o in snapshot.outputs if o.output_id == output_id]
    matches = exact or [o for o in snapshot.outputs if o.output_id.startswith(output_id)]
    if len(matches) != 1:
        known = ", ".join(o.output_id for o in snapshot.outputs) or "none"
        problem = "matches several outputs" if matches else "is not an output of this job"
        raise InvalidInputError("output_id", f"'{output_id}' {problem}; its outputs: {known}")
    return matches


def _extension(url: str, default: str) -> str:
    ext = os.path.splitext(urlsplit(url).path)[1].lower()
    return ext if ext in {".mp4", ".mov", ".webm", ".png", ".jpg", ".jpeg", ".webp", ".zip"} else default


class _Links:
    """The job's current signed URLs; re-read from the service at most once per download call."""

    def __init__(self, jobs: JobService, snapshot: JobSnapshot) -> None:
        self.jobs, self.snapshot, self.renewed = jobs, snapshot, False

    def url(self, item: _Item) -> str:
        for output in self.snapshot.outputs:
            if output.output_id == item.output_id:
                parts = {"video": output.video_url, "thumbnail": output.thumbnail_url, "premiere": output.premiere_url}
                url = parts[item.part]
                if url:
                    return url
        raise InvalidInputError("output_id", f"output {item.output_id} no longer offers a {item.part} link")

    async def renew(self) -> bool:
        """Re-read the job (even a settled one) for freshly signed URLs; False if done already."""
        if self.renewed:
            return False
        self.snapshot = (await self.jobs.refresh(self.snapshot.job_id, force=True)).snapshot
        self.renewed = True
        return True


async def _download_item(
    client: httpx2.AsyncClient, links: _Links, item: _Item, folder: Path, meter: _Meter, *, last: bool
) -> SavedFile:
    target = folder / item.filename
    while True:
        async with _open(client, links.url(item)) as response:
            if response.status_code in _REFRESHABLE and await links.renew():
                continue  # an expired link: try the freshly signed one
            if not response.is_success:
                raise _link_error(response.status_code, item)
            size = _content_length(response)
            if size is not None and _same_size(target, size):
                return SavedFile(
                    output_id=item.output_id, part=item.part, path=str(target), size_bytes=size, skipped=True
                )
            if last and size is not None:
                meter.total = meter.done + size
            written = await _write_atomically(response, target, meter, size)
            return SavedFile(
                output_id=item.output_id, part=item.part, path=str(target), size_bytes=written, skipped=False
            )


def _link_error(status: int, item: _Item) -> APIStatusError:
    error = error_class_for(status)(
        service="Mosaic", status_code=status, detail="", method="GET", path="<signed output URL>"
    )
    # The generic advice talks about keys and scopes, which do not apply to a signed URL.
    error.args = (
        f"The {item.part} link of output {item.output_id} answered {status}, also after re-reading the job for "
        "a fresh link; try download_output again later, or poll_job to see the job's state.",
    )
    return error


@contextlib.asynccontextmanager
async def _open(client: httpx2.AsyncClient, url: str) -> AsyncIterator[httpx2.Response]:
    """GET a signed URL as a stream, without the service's headers (the URL carries its own auth)."""
    request = client.build_request("GET", url, headers={"Accept": "*/*"}, timeout=DOWNLOAD_TIMEOUT)
    request.headers.pop("X-Workspace-Id", None)
    request.headers.pop("Authorization", None)
    try:
        response = await client.send(request, stream=True)
    except httpx2.TimeoutException:
        raise APITimeoutError("Downloading an output timed out; try download_output again", service="Mosaic") from None
    except httpx2.TransportError as exc:
        raise APIConnectionError(
            f"Downloading an output failed ({type(exc).__name__}); try download_output again", service="Mosaic"
        ) from None
    try:
        yield response
    finally:
        await response.aclose()


def _content_length(response: httpx2.Response) -> int | None:
    value = response.headers.get("Content-Length", "")
    return int(value) if value.isdigit() and "Content-Encoding" not in response.headers else None


def _same_size(target: Path, size: int) -> bool:
    try:
        info = target.lstat()
    except OSError:
        return False
    return not target.is_symlink() and target.is_file() and info.st_size == size


async def _write_atomically(response: httpx2.Response, target: Path, meter: _Meter, expected: int | None) -> int:
    """Stream the body into a temporary file beside `target`, then rename it into place."""
    fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    temp = Path(temp_name)
    written = 0
    try:
        async with anyio.wrap_file(os.fdopen(fd, "wb")) as handle:
            try:
                async for chunk in response.aiter_bytes(CHUNK):
                    await handle.write(chunk)
                    written += len(chunk)
                    await meter.add(len(chunk))
            except httpx2.TransportError as exc:
                raise APIConnectionError(
                    f"The download of {target.name} broke off ({type(exc).__name__}); try download_output again",
                    service="Mosaic",
                ) from None
        if expected is not None and written != expected:
            raise APIConnectionError(
                f"The download of {target.name} ended after {written:,} of {expected:,} bytes; try again",
                service="Mosaic",
            )
        await anyio.to_thread.run_sync(_publish, temp, target)
    except BaseException:
        with anyio.CancelScope(shield=True), contextlib.suppress(OSError):
            await anyio.to_thread.run_sync(temp.unlink)
        raise
    return written


def _publish(temp: Path, target: Path) -> None:
    """Give the finished file the usual permissions (mkstemp makes it owner-only), then move it in place."""
    if os.name != "nt":
        os.chmod(temp, 0o666 & ~_UMASK)
    os.replace(temp, target)


def _read_umask() -> int:
    mask = os.umask(0o022)  # the only way to read it is to set it; done once, at import
    os.umask(mask)
    return mask


_UMASK = _read_umask()


# --- thumbnails ----------------------------------------------------------------------------------


async def thumbnail_preview(jobs: JobService, client: httpx2.AsyncClient, snapshot: JobSnapshot) -> Preview:
    """The first output's thumbnail as a small image (or a note why there is none)."""
    output = next((o for o in snapshot.outputs if o.thumbnail_url), None)
    if output is None or output.thumbnail_url is None:
        return Preview(None, "no thumbnail yet: this job has no output with a thumbnail")
    try:
        fetched = await _fetch_small(client, output.thumbnail_url)
        if isinstance(fetched, int) and fetched in _REFRESHABLE:
            fresh = await jobs.refresh(snapshot.job_id, force=True)
            url = next((o.thumbnail_url for o in fresh.snapshot.outputs if o.output_id == output.output_id), None)
            fetched = await _fetch_small(client, url) if url else fetched
    except MosaicMCPError as exc:  # a preview is a nicety: never fail the poll over it
        return Preview(None, f"the thumbnail could not be fetched ({exc})")
    if isinstance(fetched, int):
        reason = "it is too large" if fetched == 0 else f"its link answered {fetched}"
        return Preview(None, f"the thumbnail was left out: {reason}; open thumbnail_url to see it")
    return await anyio.to_thread.run_sync(preview, *fetched)  # decoding a PNG is CPU work


async def _fetch_small(client: httpx2.AsyncClient, url: str) -> tuple[bytes, str] | int:
    """(body, content type) of a small file, else its error status (0 = over FETCH_MAX_BYTES)."""
    async with _open(client, url) as response:
        if not response.is_success:
            return response.status_code
        size = _content_length(response)
        if size is not None and size > FETCH_MAX_BYTES:
            return 0
        body = bytearray()
        async for chunk in response.aiter_bytes(CHUNK):
            body += chunk
            if len(body) > FETCH_MAX_BYTES:
                return 0
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        return bytes(body), content_type
