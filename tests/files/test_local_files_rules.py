"""server/local_files.py rules the mutation check found unguarded: odd files, sniffing, names, swaps, disk errors."""

import errno
import os
from pathlib import Path

import pytest

from mosaic_mcp.server.api.errors import InvalidInputError
from mosaic_mcp.server.local_files import (
    FileRoots,
    LocalFileError,
    _same_as_path,
    _unopenable,
    disk_error,
    human_size,
    safe_filename,
)

# The first bytes of each format a file named without an extension is recognised by.
SNIFFED: dict[str, tuple[bytes, str, str]] = {
    "png": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image", "image/png"),
    "jpeg": (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image", "image/jpeg"),
    "gif": (b"GIF89a\x01\x00\x01\x00", "image", "image/gif"),
    "webp": (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image", "image/webp"),
    "flac": (b"fLaC\x00\x00\x00\x22", "audio", "audio/flac"),
    "ogg": (b"OggS\x00\x02\x00\x00", "audio", "audio/ogg"),
    "mp3": (b"ID3\x04\x00\x00\x00\x00", "audio", "audio/mpeg"),
    "wav": (b"RIFF\x00\x00\x00\x00WAVEfmt ", "audio", "audio/wav"),
    "mkv": (b"\x1a\x45\xdf\xa3\x01\x00\x00\x00", "video", "video/x-matroska"),
    "mp4": (b"\x00\x00\x00\x18ftypisom", "video", "video/mp4"),
    "avi": (b"RIFF\x00\x00\x00\x00AVI LIST", "video", "video/x-msvideo"),
}


def refusal(roots: FileRoots, path: str | Path) -> str:
    """The rule `readable_file` gives for `path` (the field must be the one passed in)."""
    with pytest.raises(InvalidInputError) as caught:
        roots.readable_file(str(path), "files[0]")
    assert caught.value.field == "files[0]"
    return caught.value.rule


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need a POSIX system")
def test_a_named_pipe_is_not_a_regular_file(roots: FileRoots, tmp_path: Path) -> None:
    """A FIFO with a video's name is refused as not a regular file (not read, not called empty)."""
    pipe = tmp_path / "media" / "pipe.mp4"
    os.mkfifo(pipe)
    assert refusal(roots, pipe) == f"'{pipe}' is not a regular file"


@pytest.mark.parametrize(("head", "kind", "content_type"), SNIFFED.values(), ids=SNIFFED.keys())
def test_each_format_is_recognised_by_its_first_bytes(
    roots: FileRoots, tmp_path: Path, head: bytes, kind: str, content_type: str
) -> None:
    """A file named without an extension gets the kind and content type its magic bytes name, no other."""
    (tmp_path / "media" / "recording").write_bytes(head)
    found = roots.readable_file(str(tmp_path / "media" / "recording"), "files[0]")
    assert (found.kind, found.content_type) == (kind, content_type)


@pytest.mark.parametrize("head", [b"hello, world\n", b"RIFF\x00\x00\x00\x00RMID", b"%PDF-1.7"])
def test_unknown_first_bytes_without_extension_are_refused(roots: FileRoots, tmp_path: Path, head: bytes) -> None:
    """Bytes that match no known format are refused with the supported list, whatever they start with."""
    (tmp_path / "media" / "notes").write_bytes(head)
    rule = refusal(roots, tmp_path / "media" / "notes")
    assert rule.startswith("'notes' is not a format Mosaic accepts; supported: ")
    assert "PNG" in rule


def test_an_unknown_extension_is_refused_whatever_the_bytes(roots: FileRoots, tmp_path: Path) -> None:
    """The extension decides: PNG bytes in a .pdf are refused; only files named without one are sniffed."""
    (tmp_path / "media" / "scan.pdf").write_bytes(SNIFFED["png"][0])
    assert refusal(roots, tmp_path / "media" / "scan.pdf").startswith("'scan.pdf' is not a format Mosaic accepts")


def test_the_nul_character_is_refused_by_name(roots: FileRoots) -> None:
    """A path with a NUL in it is refused as such, not as an unusable or missing path."""
    assert refusal(roots, "clip\x00.mp4") == "must not contain NUL characters"


@pytest.mark.parametrize(
    ("suffix", "kept"),
    [(".abcdefghij", True), (".abcdefghijk", False), (".mp4", True)],
    ids=["10-chars-is-an-extension", "11-chars-is-part-of-the-name", "short"],
)
def test_an_extension_is_at_most_ten_characters(suffix: str, kept: bool) -> None:
    """A long name keeps an extension of up to 10 characters; a longer suffix is cut with the rest of the name."""
    name = safe_filename("x" * 300 + suffix)
    assert len(name) == 120
    assert name.endswith(suffix) is kept
    if not kept:
        assert name == "x" * 120


def test_a_folder_that_cannot_be_created_is_refused_with_the_reason(roots: FileRoots, tmp_path: Path) -> None:
    """Saving under a file (as if it were a folder) is refused, naming the folder and why; nothing is returned."""
    (tmp_path / "media" / "notes.txt").write_text("x")
    target = tmp_path / "media" / "notes.txt" / "out"
    with pytest.raises(InvalidInputError) as caught:
        roots.writable_dir(str(target), "directory")
    assert caught.value.field == "directory"
    assert caught.value.rule == f"the folder '{target}' cannot be created: a part of the path is a file, not a folder"


@pytest.mark.parametrize(
    ("size", "text"),
    [(1023, "1,023 bytes"), (1024, "1 KB"), (1536, "1.5 KB"), (1024**2, "1 MB"), (5 * 1024**3, "5 GB")],
)
def test_sizes_switch_unit_at_1024(size: int, text: str) -> None:
    """Sizes are written in binary units, the next unit from exactly 1024 of the one before."""
    assert human_size(size) == text


def test_the_open_by_name_guard_refuses_a_file_swapped_after_the_open(tmp_path: Path) -> None:
    """Where files are opened by name (no dir_fd walk), a path that now names another file fails as a link swap."""
    folder = Path(os.path.realpath(tmp_path))
    checked, other = folder / "clip.mp4", folder / "other.mp4"
    checked.write_bytes(b"checked")
    other.write_bytes(b"other")
    fd = os.open(checked, os.O_RDONLY)
    try:
        _same_as_path(fd, checked)  # still the same file: no complaint
        os.replace(other, checked)  # a different file now sits at the path, no link involved
        with pytest.raises(OSError, match="a link was put on its path") as caught:
            _same_as_path(fd, checked)
        assert caught.value.errno == errno.ELOOP
    finally:
        os.close(fd)


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), "the disk is full (no space left on the device)"),
        (OSError(errno.EROFS, "Read-only file system"), "it is on a read-only file system"),
        (OSError(errno.EXDEV, "Invalid cross-device link"), "invalid cross-device link"),
        (TimeoutError(), "timeouterror"),
    ],
    ids=["known-errno", "another-known-errno", "unknown-errno-uses-its-text", "no-text-uses-the-type"],
)
def test_disk_errors_name_the_folder_the_action_and_the_reason(tmp_path: Path, exc: OSError, reason: str) -> None:
    """A disk failure reads 'Could not <doing> in the folder <f>: <reason>.', the reason in plain words."""
    error = disk_error(tmp_path, exc, doing="save the file")
    assert isinstance(error, LocalFileError)
    assert str(error) == f"Could not save the file in the folder '{tmp_path}': {reason}."


def test_disk_error_advice_follows_the_reason(tmp_path: Path) -> None:
    """Advice, when given, comes after the reason; an errno number never appears."""
    error = disk_error(tmp_path, OSError(errno.EDQUOT, "Disk quota exceeded"), doing="write", advice="Free space.")
    assert str(error) == f"Could not write in the folder '{tmp_path}': the disk quota is used up. Free space."
    assert str(errno.EDQUOT) not in str(error).replace(str(tmp_path), "")


def test_the_open_by_name_guard_refuses_a_link_on_the_way(tmp_path: Path) -> None:
    """Where files are opened by name, the same file reached through a linked folder fails as a link swap."""
    folder = Path(os.path.realpath(tmp_path))
    (folder / "real").mkdir()
    (folder / "real" / "clip.mp4").write_bytes(b"checked")
    (folder / "alias").symlink_to(folder / "real")
    fd = os.open(folder / "real" / "clip.mp4", os.O_RDONLY)
    try:
        with pytest.raises(OSError, match="a link was put on its path"):
            _same_as_path(fd, folder / "alias" / "clip.mp4")
    finally:
        os.close(fd)


def test_a_link_error_on_a_folder_reads_as_a_swap_not_as_a_folder(tmp_path: Path) -> None:
    """A link error (ELOOP) while opening a path that now leads to a folder is reported as a swap, not 'is a folder'."""
    (tmp_path / "clip.mp4").mkdir()
    exc = OSError(errno.ELOOP, "Too many levels of symbolic links")
    assert _unopenable("clip.mp4", tmp_path / "clip.mp4", exc) == (
        "'clip.mp4' changed while it was being checked (a link was put on its path); try again"
    )
    denied = PermissionError(errno.EACCES, "Permission denied")
    assert _unopenable("clip.mp4", tmp_path / "clip.mp4", denied) == "'clip.mp4' is a folder; give the path of one file"
