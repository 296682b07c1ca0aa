"""Local files: the one place that decides whether a path may be read or written.

Allowed folders, in this order (the order matters for relative paths):

1. the client's MCP roots, when it offers them (`file://` URIs);
2. `MOSAIC_MCP_ALLOWED_DIRS`;
3. the download folder (`MOSAIC_MCP_DOWNLOAD_DIR`).

A path is expanded (`~`, `file://` URIs), made absolute (a relative path is taken relative to the
*first* allowed folder), and fully resolved (symlinks, `..`) **before** it is checked, so a link or
a `..` can never lead outside. Anything outside is refused with a message naming the allowed
folders.

A checked file is then only ever opened by walking its resolved path one folder at a time without
following links (`O_NOFOLLOW` with `dir_fd`), and the opened file must be the very file the check
saw (same device and inode): a file, or a folder on its path, swapped for a link after the check
is refused, never read. Uploads read from that handle (`LocalFile.open`). Where `dir_fd` is not
available (Windows) the file is opened by name and then compared with what the path leads to.

Also here: what may be uploaded (kinds, formats, documented size limits, reference 2.9),
Windows-safe file names, errors about the local disk in plain words, and fetching the client's
roots in both protocol generations.
"""

from __future__ import annotations

import dataclasses
import errno
import logging
import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.resolve import ListRoots
from mcp.shared.exceptions import MCPError
from mcp.types import ListRootsRequest, ListRootsResult
from mcp.types.version import is_version_at_least

from .api.errors import InvalidInputError, MosaicMCPError
from .api.models import AssetKind
from .config import Settings

log = logging.getLogger("mosaic_mcp.files")

MAX_UPLOAD_BYTES: dict[AssetKind, int] = {"video": 5_368_709_120, "audio": 524_288_000, "image": 52_428_800}
"""Documented per-kind upload limits (reference 2.9)."""

FORMATS: dict[str, tuple[AssetKind, str]] = {
    ".mp4": ("video", "video/mp4"),
    ".mov": ("video", "video/quicktime"),
    ".avi": ("video", "video/x-msvideo"),
    ".webm": ("video", "video/webm"),
    ".mkv": ("video", "video/x-matroska"),
    ".m4v": ("video", "video/x-m4v"),
    ".mp3": ("audio", "audio/mpeg"),
    ".wav": ("audio", "audio/wav"),
    ".m4a": ("audio", "audio/mp4"),
    ".flac": ("audio", "audio/flac"),
    ".ogg": ("audio", "audio/ogg"),
    ".aac": ("audio", "audio/aac"),
    ".opus": ("audio", "audio/opus"),
    ".png": ("image", "image/png"),
    ".jpg": ("image", "image/jpeg"),
    ".jpeg": ("image", "image/jpeg"),
    ".gif": ("image", "image/gif"),
    ".webp": ("image", "image/webp"),
    ".svg": ("image", "image/svg+xml"),
}
"""Upload formats the Mosaic upload-flow page lists, by extension: (kind, content type)."""

ROOTS_TIMEOUT_SECONDS = 5.0
MAX_NAME_CHARS = 120
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {f"{p}{i}" for p in ("COM", "LPT") for i in range(1, 10)}
_UNSAFE_CHARS = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')


class LocalFileError(MosaicMCPError):
    """Reading or writing a file on this computer failed; the message names the place and the reason."""


@dataclass(frozen=True)
class LocalFile:
    """A readable file inside the allowed folders, classified for upload.

    `identity` is the (device, inode) the check saw; `open` refuses any other file at the path.
    """

    path: Path
    size: int
    kind: AssetKind
    content_type: str
    field: str = "path"
    identity: tuple[int, int] = (0, 0)

    @property
    def filename(self) -> str:
        """The name sent with the upload."""
        return safe_filename(self.path.name)

    def open(self) -> tuple[BinaryIO, LocalFile]:
        """The checked file, opened without following links, and as it is now (its size read from the handle).

        Blocking (run it on a worker thread). Raises InvalidInputError when the path no longer
        leads to the file that was checked, or when it now breaks a size rule.
        """
        try:
            fd = _open_no_follow(self.path)
        except OSError as exc:
            raise InvalidInputError(self.field, self._changed(exc)) from None
        try:
            info = os.fstat(fd)
            if (info.st_dev, info.st_ino) != self.identity or not stat.S_ISREG(info.st_mode):
                raise InvalidInputError(self.field, self._changed(None))
            _check_size(self.path, info.st_size, self.kind, self.field)
            handle = os.fdopen(fd, "rb")
        except BaseException:
            os.close(fd)
            raise
        return handle, dataclasses.replace(self, size=info.st_size)

    def _changed(self, exc: OSError | None) -> str:
        why = f" ({_reason(exc)})" if exc is not None else ""
        return (
            f"'{self.path}' changed after it was checked{why}: it was moved, replaced, or a link was put on its "
            "path. Nothing was uploaded; check the file and try again"
        )


REMOTE_NO_PATHS = (
    "this server runs remotely for many people, and its disk is not yours: local paths cannot be read or "
    "written here. Give the file's URL instead (video_urls, video_inputs[].video_urls, attachments[].url), "
    "and open a finished job's output links to save them"
)
"""Why a remote server refuses every local path (MOSAIC_MCP_AUTH keys or oauth)."""


@dataclass(frozen=True)
class FileRoots:
    """The folders files may be read from and written to, already resolved."""

    roots: tuple[Path, ...]
    download_dir: Path
    remote: bool = False
    """Served to people over the network (MOSAIC_MCP_AUTH keys/oauth): this disk is not theirs, no path is usable."""

    @classmethod
    def of(cls, settings: Settings, client_roots: Sequence[Path] = ()) -> FileRoots:
        """Client roots, then MOSAIC_MCP_ALLOWED_DIRS, then the download folder (duplicates dropped)."""
        download = settings.resolved_download_dir.expanduser()
        ordered: list[Path] = []
        for folder in [*client_roots, *(d.expanduser() for d in settings.allowed_dirs), download]:
            real = _real(folder)
            if real is not None and real not in ordered:
                ordered.append(real)
        return cls(tuple(ordered), _real(download) or download.absolute(), remote=settings.remote)

    def describe(self) -> str:
        """The allowed folders, for messages."""
        return ", ".join(str(r) for r in self.roots)

    def resolve(self, raw: str, field: str) -> Path:
        """An absolute, fully resolved path inside an allowed folder, or InvalidInputError."""
        if self.remote:
            raise InvalidInputError(field, REMOTE_NO_PATHS)
        path = _expand(raw, field)
        if not path.is_absolute():
            path = self.roots[0] / path
        real = _real(path)
        if real is None:
            raise InvalidInputError(field, f"'{raw}' is not a usable path")
        if not any(_inside(real, root) for root in self.roots):
            via = f" (it leads to {real})" if str(real) != str(path) else ""
            raise InvalidInputError(
                field,
                f"'{raw}'{via} is outside the folders this server may use: {self.describe()}. "
                "Move the file into one of them, or add its folder to MOSAIC_MCP_ALLOWED_DIRS "
                "(or to the client's roots).",
            )
        return real

    def readable_file(self, raw: str, field: str) -> LocalFile:
        """A regular file inside the allowed folders that Mosaic accepts (format and size).

        The file is opened (without following links) to check it; what it is then is recorded, so
        a later `LocalFile.open` reads this file or nothing.
        """
        path = self.resolve(raw, field)
        try:
            fd = _open_no_follow(path)
        except OSError as exc:
            raise InvalidInputError(field, _unopenable(raw, path, exc)) from None
        try:
            info = os.fstat(fd)
            if stat.S_ISDIR(info.st_mode):
                raise InvalidInputError(field, f"'{raw}' is a folder; give the path of one file")
            if not stat.S_ISREG(info.st_mode):
                raise InvalidInputError(field, f"'{raw}' is not a regular file")
            kind, content_type = classify(path, field, _head(fd))
        finally:
            os.close(fd)
        _check_size(path, info.st_size, kind, field)
        return LocalFile(path, info.st_size, kind, content_type, field, (info.st_dev, info.st_ino))

    def writable_dir(self, raw: str | None, field: str) -> Path:
        """A folder inside the allowed folders to save into (the download folder by default), created."""
        if self.remote:
            raise InvalidInputError(field, REMOTE_NO_PATHS)
        folder = self.download_dir if raw is None or not raw.strip() else self.resolve(raw, field)
        if folder.exists() and not folder.is_dir():
            raise InvalidInputError(field, f"'{folder}' is a file, not a folder")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InvalidInputError(field, f"the folder '{folder}' cannot be created: {_reason(exc)}") from None
        # Re-check after creating it: a link planted meanwhile must not lead outside.
        return self.resolve(str(folder), field)


def classify(path: Path, field: str, head: bytes = b"") -> tuple[AssetKind, str]:
    """(kind, content type) of a file by its extension, else by its first bytes (`head`)."""
    found = FORMATS.get(path.suffix.lower())
    if found is None and not path.suffix:
        found = FORMATS.get(_sniff(head) or "")
    if found is None:
        supported = ", ".join(sorted({ext.lstrip(".").upper() for ext in FORMATS}))
        raise InvalidInputError(
            field, f"'{path.name}' is not a format Mosaic accepts; supported: {supported} (video, audio or image)"
        )
    return found


_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", ".png"),
    (0, b"\xff\xd8\xff", ".jpg"),
    (0, b"GIF8", ".gif"),
    (0, b"fLaC", ".flac"),
    (0, b"OggS", ".ogg"),
    (0, b"ID3", ".mp3"),
    (0, b"\x1a\x45\xdf\xa3", ".mkv"),
    (4, b"ftyp", ".mp4"),
)


def _sniff(head: bytes) -> str | None:
    """The extension a file's first bytes suggest (for files named without one)."""
    if head[:4] == b"RIFF":
        return {b"WAVE": ".wav", b"AVI ": ".avi", b"WEBP": ".webp"}.get(head[8:12])
    for offset, magic, ext in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return ext
    return None


def safe_filename(name: str, *, default: str = "file") -> str:
    """A file name that is valid on Windows, macOS and Linux, keeping the extension when it can.

    Strips reserved characters and control characters, trailing dots and spaces, prefixes the
    reserved device names (CON, NUL, COM1…), and caps the length at 120 characters.
    """
    cleaned = _UNSAFE_CHARS.sub("_", name).strip().rstrip(". ")
    cleaned = cleaned.lstrip(".") or default  # no hidden files, no "." or ".."
    stem, dot, ext = cleaned.rpartition(".")
    if not dot or not stem or len(ext) > 10:
        stem, ext = cleaned, ""
    if stem.split(".")[0].upper() in _WINDOWS_RESERVED:
        stem = f"_{stem}"
    room = MAX_NAME_CHARS - (len(ext) + 1 if ext else 0)
    stem = stem[:room].rstrip(". ") or default
    return f"{stem}.{ext}" if ext else stem


def roots_from_result(result: ListRootsResult) -> list[Path]:
    """Local folders among the client's roots (`file://` URIs; others are ignored)."""
    folders = []
    for root in result.roots:
        path = path_from_file_uri(str(root.uri))
        if path is not None:
            folders.append(path)
    return folders


def path_from_file_uri(uri: str) -> Path | None:
    """The local path of a `file://` URI (percent-decoded; Windows drive letters handled)."""
    parts = urlsplit(uri)
    if parts.scheme.lower() != "file":
        return None
    if parts.netloc and parts.netloc.lower() != "localhost":
        if os.name != "nt":
            return None
        return Path(url2pathname(f"//{parts.netloc}{parts.path}"))  # UNC share
    path = url2pathname(parts.path) if os.name == "nt" else unquote(parts.path)
    return Path(path) if path else None


NO_ROOTS = ListRootsResult(roots=[])
RootsAnswer = ListRootsResult | ListRoots
"""What a roots resolver returns: the roots, or the marker that makes the SDK ask the client."""


async def client_roots(ctx: Context[Any, Any]) -> RootsAnswer:
    """Resolver: the client's roots, or none when it declares no `roots` capability.

    2025-era connections are asked directly (`roots/list` back to the client, bounded in time);
    when that fails the call goes on with the configured folders only. 2026-era connections have
    no back-channel, so the `ListRoots` marker makes the SDK ask the client as part of the call.
    """
    capabilities = ctx.client_capabilities
    if capabilities is None or capabilities.roots is None:
        return NO_ROOTS
    session = ctx.request_context.session
    if is_version_at_least(session.protocol_version, "2026-07-28"):
        return ListRoots()
    try:
        return await session.send_request(
            ListRootsRequest(), ListRootsResult, request_read_timeout_seconds=ROOTS_TIMEOUT_SECONDS
        )
    except (MCPError, TimeoutError, ValueError) as exc:
        log.info("could not list the client's roots (%s); using the configured folders only", type(exc).__name__)
        return NO_ROOTS


def file_roots(settings: Settings, roots: ListRootsResult | None) -> FileRoots:
    """The allowed folders for one request."""
    return FileRoots.of(settings, roots_from_result(roots) if roots is not None else [])


def _expand(raw: str, field: str) -> Path:
    text = raw.strip()
    if not text:
        raise InvalidInputError(field, "must be a file path, e.g. ~/Videos/clip.mp4")
    if "\x00" in text:
        raise InvalidInputError(field, "must not contain NUL characters")
    if text.lower().startswith("file:"):
        from_uri = path_from_file_uri(text)
        if from_uri is None:
            raise InvalidInputError(field, f"'{raw}' is not a local file:// URI")
        return from_uri
    if re.match(r"^[a-z][a-z0-9+.-]*://", text, re.IGNORECASE):
        raise InvalidInputError(field, f"'{raw}' is a URL, not a local path; pass URLs in the URL fields instead")
    return Path(text).expanduser()


def _real(path: Path) -> Path | None:
    try:
        return Path(os.path.realpath(path))
    except (OSError, ValueError):
        return None


def _inside(path: Path, root: Path) -> bool:
    p, r = os.path.normcase(str(path)), os.path.normcase(str(root))
    try:
        return os.path.commonpath([p, r]) == r
    except ValueError:  # different drives on Windows
        return False


def human_size(size: int) -> str:
    """Binary units, as the upload limits are documented (5 GB = 5,368,709,120 bytes)."""
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{size:,} bytes" if unit == "bytes" else f"{value:,.1f}".removesuffix(".0") + f" {unit}"
        value /= 1024
    return f"{size:,} bytes"


_WALKS = os.open in os.supports_dir_fd and hasattr(os, "O_NOFOLLOW") and hasattr(os, "O_DIRECTORY")
"""Whether a path can be walked one folder at a time without following links (not on Windows)."""
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
# O_PATH (Linux) lets the walk pass folders this server may search but not list, as open() by name does.
_FOLDER_FLAGS = getattr(os, "O_PATH", os.O_RDONLY) | getattr(os, "O_DIRECTORY", 0) | _CLOEXEC
_FILE_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOCTTY", 0) | _CLOEXEC
_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # a FIFO put at the path must not block the open


def _open_no_follow(path: Path) -> int:
    """A read-only descriptor of `path` (absolute, resolved), reached without following any link.

    Every folder on the path is opened relative to the one before with O_NOFOLLOW, so a link
    anywhere on the way fails the open (ELOOP / ENOTDIR) instead of leading elsewhere. Without
    `dir_fd` support the file is opened by name and must then be what the path still leads to.
    """
    if not _WALKS:
        fd = os.open(path, _FILE_FLAGS)
        try:
            _same_as_path(fd, path)
        except BaseException:
            os.close(fd)
            raise
        return fd
    anchor, *folders, name = path.parts
    fd = os.open(anchor, _FOLDER_FLAGS)
    try:
        for folder in folders:
            inner = os.open(folder, _FOLDER_FLAGS | _NO_FOLLOW, dir_fd=fd)
            os.close(fd)
            fd = inner
        found = os.open(name, _FILE_FLAGS | _NO_FOLLOW | _NONBLOCK, dir_fd=fd)
    finally:
        os.close(fd)
    os.set_blocking(found, True)
    return found


def _same_as_path(fd: int, path: Path) -> None:
    """Without a link-free walk: the opened file must be what `path` leads to, with no link on the way."""
    opened, named = os.fstat(fd), os.lstat(path)
    same = (opened.st_dev, opened.st_ino) == (named.st_dev, named.st_ino)
    if not same or stat.S_ISLNK(named.st_mode) or _real(path) != path:
        raise OSError(errno.ELOOP, "a link was put on its path")


def _head(fd: int) -> bytes:
    """The first bytes of an open file (for files named without an extension)."""
    try:
        return os.pread(fd, 16, 0) if hasattr(os, "pread") else os.read(fd, 16)
    except OSError:
        return b""


def _unopenable(raw: str, path: Path, exc: OSError) -> str:
    """Why a checked path could not be opened, in the words the old stat-based check used."""
    if isinstance(exc, FileNotFoundError | NotADirectoryError) and not os.path.lexists(path):
        return f"there is no file at '{raw}' ({path})"
    if isinstance(exc, IsADirectoryError) or (isinstance(exc, PermissionError) and os.path.isdir(path)):
        return f"'{raw}' is a folder; give the path of one file"
    if isinstance(exc, PermissionError):
        return f"'{raw}' is not readable by this server (check its permissions)"
    if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.ENOENT):
        return f"'{raw}' changed while it was being checked (a link was put on its path); try again"
    return f"'{raw}' cannot be read ({_reason(exc)})"


def _check_size(path: Path, size: int, kind: AssetKind, field: str) -> None:
    limit = MAX_UPLOAD_BYTES[kind]
    if size > limit:
        raise InvalidInputError(
            field, f"'{path.name}' has {human_size(size)}; Mosaic accepts {kind} files up to {human_size(limit)}"
        )
    if size == 0:
        raise InvalidInputError(field, f"'{path.name}' is empty")


_REASONS: dict[int, str] = {
    errno.ENOSPC: "the disk is full (no space left on the device)",
    errno.EROFS: "it is on a read-only file system",
    errno.EACCES: "permission denied (check the permissions of the folder and the file)",
    errno.EPERM: "the operation is not permitted there",
    errno.ENOENT: "the folder does not exist (any more)",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "a folder with that name is in the way",
    errno.EFBIG: "the file is too large for this file system",
    errno.EIO: "the disk reported an input/output error",
    errno.ENAMETOOLONG: "the path is too long for this file system",
    errno.EMFILE: "this server has too many files open",
    errno.ELOOP: "a link was put on its path",
}
if hasattr(errno, "EDQUOT"):
    _REASONS[errno.EDQUOT] = "the disk quota is used up"


def _reason(exc: OSError) -> str:
    """An OS error in plain words (never a bare errno)."""
    known = _REASONS.get(exc.errno or -1)
    return known or (exc.strerror or type(exc).__name__).lower()


def disk_error(folder: Path, exc: OSError, *, doing: str, advice: str = "") -> LocalFileError:
    """An error naming the folder, what was being done and why it failed, in plain words."""
    return LocalFileError(
        f"Could not {doing} in the folder '{folder}': {_reason(exc)}." + (f" {advice}" if advice else "")
    )
