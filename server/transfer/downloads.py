"""Saving a finished job's outputs to disk, atomically.

Downloads stream into a temporary `.part` file in the target folder and are renamed into place
only when complete (`os.replace`), so a reader never sees half a video; a file already there with
the same size is kept. Signed URLs expire: a 4xx on one re-reads the job for freshly signed URLs
and tries once more. The folder comes from `files.FileRoots`, which decided it may be written.

A file larger than `MOSAIC_MCP_MAX_DOWNLOAD_BYTES` is refused before a byte is written when its
Content-Length says so, and stopped (its part file deleted) when the stream passes the cap. Part
files left by an interrupted process (a kill, a crash) are removed on start and after each finished
download; one still being written (locked, or touched in the last minute) is left alone. Every
error of the local disk names the folder and the reason (full, read-only, permissions…).

The body goes straight from the response to the file: the network's reads are gathered on the
event loop into 1 MiB batches, each written (and hashed) by one hop to a worker thread while the
next batch arrives. Progress is bounded by `ByteMeter` (at most 100 notifications per call, also
without a Content-Length). At the end the file must have every announced byte, on disk; with
`MOSAIC_MCP_VERIFY_DOWNLOAD_MD5` also the MD5 the storage sent (`x-goog-hash: md5=…` or
`Content-MD5`), when it sent one. A file that fails the check is dropped.
"""

import base64
import contextlib
import errno
import hashlib
import logging
import os
import re
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import anyio
import anyio.to_thread
import httpx2
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from pydantic import BaseModel, Field

from ..api.errors import APIConnectionError, APIStatusError, InvalidInputError, error_class_for
from ..config import DEFAULT_MAX_DOWNLOAD_BYTES, Settings
from ..jobs.service import JobService
from ..jobs.snapshot import JobOutput, JobSnapshot
from ..local_files import LocalFileError, disk_error, human_size, safe_filename
from .progress import ByteMeter, Progress
from .signed import REFRESHABLE, content_length, open_signed

if sys.platform != "win32":
    import fcntl

log = logging.getLogger("mosaic_mcp.downloads")

EXTENSIONS = (".mp4", ".mov", ".webm", ".png", ".jpg", ".jpeg", ".webp", ".zip")
"""Extensions saved files keep; anything else gets the part's default."""
PART_SUFFIX = ".part"
_PART_NAME = re.compile(
    r"^\.[^/\\]+(?:" + "|".join(re.escape(e) for e in EXTENSIONS) + r")\.[a-z0-9_]{8}" + re.escape(PART_SUFFIX) + "$"
)
"""What `_write_atomically` names its temporary files: `.<target name>.<8 random chars>.part`."""
STALE_AFTER_SECONDS = 60.0
"""A part file untouched this long, and not locked by a running download, is left over from a kill."""
BATCH = 4 << 20
"""Bytes gathered from the network before one write on a worker thread (one hop, one `writev`).
On the 2-core machine of bench_download.py, with reads of `READ_BYTES`, 4 MiB batches took 0.76×
the wall time and 0.82× the CPU of 1 MiB ones (medians of 18 downloads of 1 GiB each)."""
QUEUED = 2
"""Batches that may wait for the writer: with the one being written and the one being read, memory
stays under 4 × `BATCH` per download."""
IOV_MAX = 1024
"""Buffers one `writev` takes (POSIX's minimum for IOV_MAX is 16; Linux and macOS take 1024)."""


class SavedFile(BaseModel):
    """One file written (or already present) on disk."""

    output_id: str = Field(description="The output it belongs to.")
    part: Literal["video", "thumbnail", "premiere"] = Field(description="Which file of the output.")
    path: str = Field(description="Where it is.")
    size_bytes: int = Field(description="Its size.")
    skipped: bool = Field(description="True when an identical-size file was already there (not downloaded again).")


class DownloadResult(BaseModel):
    """What download_output saved."""

    job_id: str = Field(description="The job.")
    directory: str = Field(description="The folder the files are in.")
    files: list[SavedFile] = Field(description="The files on disk.")
    bytes_downloaded: int = Field(description="Bytes fetched by this call.")


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
    max_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES,
    verify_md5: bool = False,
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
    meter = ByteMeter(progress, None, "downloading")
    await meter.start()
    links = _Links(jobs, snapshot)
    saved: list[SavedFile] = []
    for n, item in enumerate(items):
        meter.label = f"{item.filename} ({n + 1}/{len(items)})"
        last = n == len(items) - 1
        saved.append(await _download_item(client, links, item, folder, meter, max_bytes, last=last, md5=verify_md5))
    await meter.finish()
    await anyio.to_thread.run_sync(remove_stale_parts, [folder])
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
    return ext if ext in EXTENSIONS else default


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
    client: httpx2.AsyncClient,
    links: _Links,
    item: _Item,
    folder: Path,
    meter: ByteMeter,
    max_bytes: int,
    *,
    last: bool,
    md5: bool,
) -> SavedFile:
    target = folder / item.filename
    while True:
        async with open_signed(client, links.url(item)) as response:
            if response.status_code in REFRESHABLE and await links.renew():
                continue  # an expired link: try the freshly signed one
            if not response.is_success:
                raise _link_error(response.status_code, item)
            size = content_length(response)
            if size is not None and _same_size(target, size):
                return SavedFile(
                    output_id=item.output_id, part=item.part, path=str(target), size_bytes=size, skipped=True
                )
            if size is not None and size > max_bytes:
                raise _too_large(item, target, max_bytes, f"it has {human_size(size)}")
            if last and size is not None:
                meter.total = meter.done + size
            meter.expect(size)
            too_large = partial(_too_large, item, target, max_bytes)
            digest = expected_md5(response) if md5 else None
            written = await _write_atomically(response, target, meter, size, max_bytes, too_large, digest)
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


def _too_large(item: _Item, target: Path, max_bytes: int, how: str = "") -> LocalFileError:
    what = how or f"it passed {human_size(max_bytes)} while downloading and was stopped"
    return LocalFileError(
        f"The {item.part} of output {item.output_id} was not saved: {what}, more than this server saves "
        f"(MOSAIC_MCP_MAX_DOWNLOAD_BYTES = {max_bytes:,} bytes); nothing was left in '{target.parent}'. "
        "Whoever runs the server can raise MOSAIC_MCP_MAX_DOWNLOAD_BYTES (or --max-download-bytes); "
        "or open the output's link from poll_job in a browser."
    )


def _same_size(target: Path, size: int) -> bool:
    try:
        info = target.lstat()
    except OSError:
        return False
    return not target.is_symlink() and target.is_file() and info.st_size == size


async def _write_atomically(
    response: httpx2.Response,
    target: Path,
    meter: ByteMeter,
    expected: int | None,
    max_bytes: int,
    too_large: Callable[[], LocalFileError],
    md5: bytes | None = None,
) -> int:
    """Stream the body into a locked temporary file beside `target`, check it, then rename it into place."""
    folder = target.parent
    advice = "Nothing was left behind; fix that or choose another directory, then call download_output again."
    try:
        fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=PART_SUFFIX, dir=folder)
    except OSError as exc:
        raise disk_error(folder, exc, doing=f"save {target.name}", advice=advice) from None
    temp = Path(temp_name)
    _lock(fd)
    try:
        try:
            body = _Body(target.name, max_bytes, too_large, md5)
            await body.stream(response, fd, meter)
            await anyio.to_thread.run_sync(body.check, fd, expected)
        finally:
            os.close(fd)
        await anyio.to_thread.run_sync(_publish, temp, target)
    except OSError as exc:
        await _discard(temp)
        raise disk_error(folder, exc, doing=f"save {target.name}", advice=advice) from None
    except BaseException:
        await _discard(temp)
        raise
    return body.written


class _Body:
    """One response body on its way to a file: gathered on the event loop, written and hashed on a worker thread.

    The network's reads (up to `READ_BYTES`, 256 KiB, each) are gathered into batches of `BATCH`
    bytes; each batch is one thread hop and one `os.writev`, while the next batch is read. At most
    `QUEUED` batches wait, so memory stays at a few batches whatever the size.
    """

    def __init__(self, name: str, max_bytes: int, too_large: Callable[[], LocalFileError], md5: bytes | None) -> None:
        self.name, self.max_bytes, self.too_large = name, max_bytes, too_large
        self.md5 = md5
        self.digest = hashlib.md5(usedforsecurity=False) if md5 is not None else None
        self.written = 0
        self.received = 0

    async def stream(self, response: httpx2.Response, fd: int, meter: ByteMeter) -> None:
        send, receive = anyio.create_memory_object_stream[list[bytes]](QUEUED)
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(self._write_batches, receive, fd)
                async with send:
                    await self._read(response, send, meter)
        except BaseExceptionGroup as failed:
            raise _only(failed) from None

    async def _read(
        self, response: httpx2.Response, send: MemoryObjectSendStream[list[bytes]], meter: ByteMeter
    ) -> None:
        batch: list[bytes] = []
        gathered = 0
        # Undecoded bodies skip httpx2's decoder layers (the cap and the hash are of the bytes saved).
        chunks = response.aiter_bytes() if "Content-Encoding" in response.headers else response.aiter_raw()
        try:
            async for chunk in chunks:
                batch.append(chunk)
                gathered += len(chunk)
                if gathered >= BATCH:
                    await self._hand_over(batch, gathered, send, meter)
                    batch, gathered = [], 0
        except httpx2.TransportError as exc:
            raise APIConnectionError(
                f"The download of {self.name} broke off ({type(exc).__name__}); try download_output again",
                service="Mosaic",
            ) from None
        if batch:
            await self._hand_over(batch, gathered, send, meter)

    async def _hand_over(
        self, batch: list[bytes], size: int, send: MemoryObjectSendStream[list[bytes]], meter: ByteMeter
    ) -> None:
        self.received += size
        if self.received > self.max_bytes:
            raise self.too_large()
        await send.send(batch)
        await meter.add(size)

    async def _write_batches(self, receive: MemoryObjectReceiveStream[list[bytes]], fd: int) -> None:
        async with receive:
            async for batch in receive:
                await anyio.to_thread.run_sync(self._write, fd, batch)

    def _write(self, fd: int, batch: list[bytes]) -> None:
        if self.digest is not None:
            for chunk in batch:
                self.digest.update(chunk)
        _write_all(fd, batch)
        self.written += sum(map(len, batch))

    def check(self, fd: int, expected: int | None) -> None:
        """The end check: as many bytes as announced, all of them on disk, and the checksum if one was sent."""
        if expected is not None and self.written != expected:
            raise APIConnectionError(
                f"The download of {self.name} ended after {self.written:,} of {expected:,} bytes; try again",
                service="Mosaic",
            )
        if os.fstat(fd).st_size != self.written:
            raise OSError(errno.EIO, "the file on disk is not as long as what was written")
        if self.digest is not None and self.digest.digest() != self.md5:
            raise APIConnectionError(
                f"The download of {self.name} arrived damaged (its MD5 differs from the one the storage sent); "
                "nothing was saved; try download_output again",
                service="Mosaic",
            )


def _only(group: BaseExceptionGroup) -> BaseException:
    """The one failure of a reader/writer pair (the other side was only cancelled)."""
    leaves = list(_leaves(group))
    return leaves[0] if len(leaves) == 1 else group


def _leaves(error: BaseException) -> Iterator[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            yield from _leaves(inner)
    else:
        yield error


def _write_all(fd: int, chunks: list[bytes]) -> None:
    """Write every byte of `chunks` (in groups the system takes in one call; short writes resumed)."""
    if not hasattr(os, "writev"):  # Windows
        data = memoryview(b"".join(chunks))
        while data:
            data = data[os.write(fd, data) :]
        return
    views = [memoryview(c) for c in chunks if c]
    while views:
        done = os.writev(fd, views[:IOV_MAX])
        while views and done >= len(views[0]):
            done -= len(views[0])
            views.pop(0)
        if views and done:
            views[0] = views[0][done:]


def expected_md5(response: httpx2.Response) -> bytes | None:
    """The body's MD5 when the storage sends one (`x-goog-hash: md5=…` or `Content-MD5`) for the bytes saved."""
    if "Content-Encoding" in response.headers:
        return None  # the hash is of the encoded object, the file gets the decoded bytes
    values = [v.strip() for h in response.headers.get_list("x-goog-hash") for v in h.split(",")]
    given = next((v[4:] for v in values if v.startswith("md5=")), None) or response.headers.get("Content-MD5")
    if not given:
        return None
    try:
        digest = base64.b64decode(given, validate=True)
    except ValueError:
        return None
    return digest if len(digest) == 16 else None


async def _discard(temp: Path) -> None:
    with anyio.CancelScope(shield=True), contextlib.suppress(OSError):
        await anyio.to_thread.run_sync(temp.unlink)


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


def _lock(fd: int) -> None:
    """Mark a part file as being written (an advisory lock that a kill releases)."""
    if sys.platform != "win32":
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def remove_stale_parts(folders: Iterable[Path], *, now: float | None = None) -> int:
    """Delete the part files interrupted downloads left in these folders (not below them); how many.

    Only names `_write_atomically` makes are touched, only regular files (never a link), only
    when untouched for a minute and not locked by a download still running (in any process).
    Never raises: a folder that is missing or unreadable is skipped.
    """
    cutoff = (time.time() if now is None else now) - STALE_AFTER_SECONDS
    removed = 0
    for folder in dict.fromkeys(folders):
        try:
            names = [n for n in os.listdir(folder) if _PART_NAME.match(n)]
        except OSError:
            continue
        for name in names:
            removed += _remove_if_stale(folder / name, cutoff)
    return removed


def _remove_if_stale(path: Path, cutoff: float) -> bool:
    try:
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_mtime > cutoff:
            return False  # a link, a folder, or touched in the last minute: not a leftover
        if sys.platform == "win32":
            os.unlink(path)  # Windows refuses to delete a file that a running download has open
        elif not _unlink_unlocked(path):
            return False
    except OSError as exc:
        log.info("could not remove the stale part file %s (%s)", path, exc.strerror or type(exc).__name__)
        return False
    log.info("removed %s, left by an interrupted download", path)
    return True


def _unlink_unlocked(path: Path) -> bool:
    """Delete a part file unless a download (of any process) holds its lock; whether it was deleted."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held until the name is gone
        except BlockingIOError:
            return False  # a download is writing it
        except OSError:
            pass  # no locks on this file system: the age alone decides
        os.unlink(path)
        return True
    finally:
        os.close(fd)


def remove_stale_parts_on_start(settings: Settings) -> None:
    """At start-up: clean the download folder and the configured allowed folders. Never fails start-up."""
    try:
        folders = [settings.resolved_download_dir, *settings.allowed_dirs]
        removed = remove_stale_parts(f.expanduser() for f in folders)
    except Exception:  # a cleanup must never keep the server from starting
        log.warning("could not look for part files of interrupted downloads", exc_info=True)
        return
    if removed:
        log.warning("removed %d part file(s) left by interrupted downloads", removed)
