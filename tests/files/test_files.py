"""server/local_files.py on its own: allowed folders, path resolution, classification, safe names."""

import os
from pathlib import Path

import pytest

from mosaic_mcp.server.api.errors import InvalidInputError
from mosaic_mcp.server.config import Settings
from mosaic_mcp.server.local_files import FileRoots, path_from_file_uri, safe_filename

MP4_HEAD = b"\x00\x00\x00\x18ftypisom"


def refused(roots: FileRoots, path: str | Path) -> str:
    with pytest.raises(InvalidInputError) as caught:
        roots.readable_file(str(path), "path")
    assert caught.value.field == "path"
    return str(caught.value)


def test_order_is_client_roots_then_configured_then_downloads(tmp_path: Path) -> None:
    """Client roots come first, then MOSAIC_MCP_ALLOWED_DIRS, then the download folder; duplicates drop."""
    settings = Settings(
        MOSAIC_MCP_ALLOWED_DIRS=f"{tmp_path / 'a'},{tmp_path / 'b'}", MOSAIC_MCP_DOWNLOAD_DIR=str(tmp_path / "a")
    )
    roots = FileRoots.of(settings, [tmp_path / "client"])
    assert roots.roots == (tmp_path / "client", tmp_path / "a", tmp_path / "b")
    assert roots.download_dir == tmp_path / "a"


def test_dot_dot_cannot_leave(roots: FileRoots, tmp_path: Path) -> None:
    """`..` is resolved before the check."""
    (tmp_path / "secret.mp4").write_bytes(MP4_HEAD)
    message = refused(roots, f"{tmp_path}/media/../secret.mp4")
    assert "outside the folders" in message
    assert str(tmp_path / "media") in message


def test_absolute_path_outside_is_refused(roots: FileRoots, tmp_path: Path) -> None:
    """An absolute path outside every allowed folder is refused."""
    (tmp_path / "x.mp4").write_bytes(MP4_HEAD)
    assert "outside the folders" in refused(roots, tmp_path / "x.mp4")


def test_sibling_with_shared_prefix_is_outside(roots: FileRoots, tmp_path: Path) -> None:
    """'/tmp/media-old' is not inside '/tmp/media' (whole path parts are compared)."""
    (tmp_path / "media-old").mkdir()
    (tmp_path / "media-old" / "x.mp4").write_bytes(MP4_HEAD)
    assert "outside the folders" in refused(roots, tmp_path / "media-old" / "x.mp4")


def test_symlink_out_is_refused_and_named(roots: FileRoots, tmp_path: Path) -> None:
    """A link to a file outside is refused, saying where it leads."""
    (tmp_path / "private.mp4").write_bytes(MP4_HEAD)
    (tmp_path / "media" / "link.mp4").symlink_to(tmp_path / "private.mp4")
    assert "leads to" in refused(roots, tmp_path / "media" / "link.mp4")


def test_symlink_within_is_followed(roots: FileRoots, tmp_path: Path) -> None:
    """A link between two allowed places is fine and reads its target."""
    (tmp_path / "media" / "real.mp4").write_bytes(MP4_HEAD)
    (tmp_path / "media" / "alias.mp4").symlink_to(tmp_path / "media" / "real.mp4")
    assert roots.readable_file(str(tmp_path / "media" / "alias.mp4"), "path").path == tmp_path / "media" / "real.mp4"


def test_missing_folder_and_empty_are_refused(roots: FileRoots, tmp_path: Path) -> None:
    """A missing file, a folder and an empty file each get their own message."""
    assert "there is no file" in refused(roots, tmp_path / "media" / "nope.mp4")
    (tmp_path / "media" / "dir.mp4").mkdir()
    assert "is a folder" in refused(roots, tmp_path / "media" / "dir.mp4")
    (tmp_path / "media" / "empty.mp4").touch()
    assert "is empty" in refused(roots, tmp_path / "media" / "empty.mp4")


@pytest.mark.parametrize(
    ("name", "size", "limit"),
    [
        ("big.png", 50 * 1024**2 + 1, "50 MB"),
        ("big.wav", 500 * 1024**2 + 1, "500 MB"),
        ("big.mkv", 5 * 1024**3 + 1, "5 GB"),
    ],
)
def test_size_limits_per_kind(roots: FileRoots, tmp_path: Path, name: str, size: int, limit: str) -> None:
    """Each kind has its documented limit (sparse files: nothing is written)."""
    with (tmp_path / "media" / name).open("wb") as handle:
        handle.truncate(size)
    assert f"up to {limit}" in refused(roots, tmp_path / "media" / name)


def test_at_the_limit_is_accepted(roots: FileRoots, tmp_path: Path) -> None:
    """Exactly the limit is allowed."""
    with (tmp_path / "media" / "edge.png").open("wb") as handle:
        handle.truncate(50 * 1024**2)
    assert roots.readable_file(str(tmp_path / "media" / "edge.png"), "path").size == 50 * 1024**2


def test_kinds_and_content_types_by_extension(roots: FileRoots, tmp_path: Path) -> None:
    """Extensions decide kind and content type, case-insensitively."""
    expected = {
        "a.MOV": ("video", "video/quicktime"),
        "b.opus": ("audio", "audio/opus"),
        "c.svg": ("image", "image/svg+xml"),
    }
    for name, (kind, content_type) in expected.items():
        (tmp_path / "media" / name).write_bytes(b"x")
        found = roots.readable_file(str(tmp_path / "media" / name), "path")
        assert (found.kind, found.content_type) == (kind, content_type)


def test_files_without_extension_are_sniffed(roots: FileRoots, tmp_path: Path) -> None:
    """A file named without an extension is recognised by its first bytes."""
    (tmp_path / "media" / "recording").write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt ")
    assert roots.readable_file(str(tmp_path / "media" / "recording"), "path").kind == "audio"


def test_unsupported_type_lists_the_formats(roots: FileRoots, tmp_path: Path) -> None:
    """An unknown format is refused with the supported list."""
    (tmp_path / "media" / "doc.pdf").write_bytes(b"%PDF")
    message = refused(roots, tmp_path / "media" / "doc.pdf")
    assert "not a format Mosaic accepts" in message
    assert "WEBM" in message


def test_relative_paths_start_at_the_first_root(roots: FileRoots, tmp_path: Path) -> None:
    """'clip.mp4' means <first allowed folder>/clip.mp4."""
    (tmp_path / "media" / "clip.mp4").write_bytes(MP4_HEAD)
    assert roots.readable_file("clip.mp4", "path").path == tmp_path / "media" / "clip.mp4"


def test_file_uris_and_urls(roots: FileRoots, tmp_path: Path) -> None:
    """file:// URIs are local paths (percent-decoded); other URLs are refused."""
    (tmp_path / "media" / "my clip.mp4").write_bytes(MP4_HEAD)
    uri = (tmp_path / "media" / "my clip.mp4").as_uri()
    assert roots.readable_file(uri, "path").path.name == "my clip.mp4"
    assert "is a URL" in refused(roots, "https://example.com/a.mp4")
    assert "must be a file path" in refused(roots, "  ")


def test_path_from_file_uri() -> None:
    """Only local file:// URIs become paths."""
    assert path_from_file_uri("file:///home/me/My%20Videos") == Path("/home/me/My Videos")
    assert path_from_file_uri("file://localhost/srv/x") == Path("/srv/x")
    assert path_from_file_uri("https://example.com/x") is None
    if os.name != "nt":
        assert path_from_file_uri("file://fileserver/share") is None


def test_writable_dir_defaults_to_download_folder_and_creates_it(roots: FileRoots, tmp_path: Path) -> None:
    """No directory means the download folder, created on demand; subfolders of roots are fine."""
    assert roots.writable_dir(None, "directory") == tmp_path / "downloads"
    assert (tmp_path / "downloads").is_dir()
    assert roots.writable_dir(str(tmp_path / "media" / "out"), "directory") == tmp_path / "media" / "out"


def test_writable_dir_outside_is_refused(roots: FileRoots, tmp_path: Path) -> None:
    """Saving outside the allowed folders is refused, and nothing is created there."""
    with pytest.raises(InvalidInputError, match="outside the folders"):
        roots.writable_dir(str(tmp_path / "elsewhere"), "directory")
    assert not (tmp_path / "elsewhere").exists()


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ('a<b>c:d"e/f\\g|h?i*j.mp4', "a_b_c_d_e_f_g_h_i_j.mp4"),
        ("bell\x07\x1f.png", "bell__.png"),
        ("CON.mp4", "_CON.mp4"),
        ("lpt9", "_lpt9"),
        ("com1.tar.gz", "_com1.tar.gz"),
        ("name. . ", "name"),
        ("..", "file"),
        (".hidden.mp4", "hidden.mp4"),
        ("", "file"),
    ],
)
def test_safe_filename(raw: str, safe: str) -> None:
    """Reserved characters, control characters, device names and trailing dots never reach the disk."""
    assert safe_filename(raw) == safe


def test_safe_filename_caps_length_and_keeps_extension() -> None:
    """Long names are cut to 120 characters, extension kept."""
    name = safe_filename("x" * 300 + ".mp4")
    assert len(name) == 120
    assert name.endswith(".mp4")
