"""A checked local file is opened once, without following links: a swap after the check uploads nothing."""

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from mosaic_mcp.server.api.errors import InvalidInputError
from mosaic_mcp.server.api.mosaic import MosaicClient
from mosaic_mcp.server.api.requests import RunRequest
from mosaic_mcp.server.local_files import FileRoots, LocalFile
from mosaic_mcp.server.sandbox import RunningSandbox
from mosaic_mcp.server.transfer import RunFiles, attachment_from_path, upload_local_file

from ..support import sandbox_settings
from ..support.files import write_file

pytestmark = pytest.mark.anyio

MP4_HEAD = b"\x00\x00\x00\x18ftypisom"
SECRET = b"SECRET-OUTSIDE-THE-ALLOWED-FOLDERS"

Check = Callable[[FileRoots, str], Awaitable[object]]
Upload = Callable[[MosaicClient, object], Awaitable[None]]


@pytest.fixture
async def mosaic(served: RunningSandbox, workdir: Path) -> AsyncIterator[MosaicClient]:
    """A Mosaic client talking to the sandbox."""
    async with MosaicClient.from_settings(sandbox_settings(served, workdir, media=True, max_wait_seconds=5)) as client:
        yield client


@pytest.fixture
def roots(served: RunningSandbox, workdir: Path) -> FileRoots:
    """The allowed folders of the test settings (media/ and the download folder)."""
    return FileRoots.of(sandbox_settings(served, workdir, media=True, max_wait_seconds=5))


async def check_upload_file(roots: FileRoots, path: str) -> object:
    return roots.readable_file(path, "path")


async def upload_upload_file(mosaic: MosaicClient, checked: object) -> None:
    assert isinstance(checked, LocalFile)
    await upload_local_file(mosaic, checked)


async def check_run_files(roots: FileRoots, path: str) -> object:
    return RunFiles.check(roots, [path], [])


async def upload_run_files(mosaic: MosaicClient, checked: object) -> None:
    assert isinstance(checked, RunFiles)
    await checked.upload(mosaic, RunRequest(video_ids=checked.video_ids([])), None)


async def check_attachment(roots: FileRoots, path: str) -> object:
    return roots.readable_file(path, "attachments[0].path")


async def upload_attachment(mosaic: MosaicClient, checked: object) -> None:
    assert isinstance(checked, LocalFile)
    await attachment_from_path(mosaic, checked, name=None, progress=None)


ENTRY_POINTS: dict[str, tuple[Check, Upload, str]] = {
    "upload_file": (check_upload_file, upload_upload_file, "path"),
    "run_agent files": (check_run_files, upload_run_files, "files[0]"),
    "Motion attachment": (check_attachment, upload_attachment, "attachments[0].path"),
}


def received(served: RunningSandbox) -> list[bytes]:
    """The bytes of every upload the sandbox's storage kept."""
    return [bytes(u.kept) for u in served.sandbox.uploads.uploads.values()]


def upload_requests(served: RunningSandbox) -> int:
    """Requests that belong to the upload flow (API steps and the storage POST)."""
    log = served.sandbox.requests
    return log.count(None, "/uploads/*") + log.count(None, "/_sandbox/upload/*")


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
async def test_file_swapped_for_a_link_after_the_check_is_refused(
    mosaic: MosaicClient, roots: FileRoots, served: RunningSandbox, media: Path, tmp_path: Path, entry: str
) -> None:
    """The checked file replaced by a link to a file outside: refused, the outside bytes never reach Mosaic."""
    check, upload, field = ENTRY_POINTS[entry]
    secret = write_file(tmp_path / "secret.mp4", 4000, MP4_HEAD + SECRET)
    clip = write_file(media / "clip.mp4", 4000, MP4_HEAD)
    checked = await check(roots, str(clip))
    clip.rename(media / "clip-moved.mp4")
    clip.symlink_to(secret)
    with pytest.raises(InvalidInputError) as caught:
        await upload(mosaic, checked)
    assert caught.value.field == field
    assert "changed after it was checked" in str(caught.value)
    assert "Nothing was uploaded" in str(caught.value)
    assert upload_requests(served) == 0
    assert not any(SECRET in kept for kept in received(served))


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
async def test_folder_swapped_for_a_link_after_the_check_is_refused(
    mosaic: MosaicClient, roots: FileRoots, served: RunningSandbox, media: Path, tmp_path: Path, entry: str
) -> None:
    """A folder on the checked path replaced by a link to a folder outside: refused, nothing outside is read."""
    check, upload, field = ENTRY_POINTS[entry]
    outside, shoot = tmp_path / "outside", media / "shoot"
    for folder in (outside / "takes", shoot / "takes"):
        folder.mkdir(parents=True)
    write_file(outside / "takes" / "clip.mp4", 4000, MP4_HEAD + SECRET)
    clip = write_file(shoot / "takes" / "clip.mp4", 4000, MP4_HEAD)
    checked = await check(roots, str(clip))
    shoot.rename(media / "shoot-moved")
    shoot.symlink_to(outside, target_is_directory=True)
    with pytest.raises(InvalidInputError) as caught:
        await upload(mosaic, checked)
    assert caught.value.field == field
    assert "changed after it was checked" in str(caught.value)
    assert upload_requests(served) == 0
    assert not any(SECRET in kept for kept in received(served))


async def test_file_replaced_by_another_file_after_the_check_is_refused(
    mosaic: MosaicClient, roots: FileRoots, served: RunningSandbox, media: Path
) -> None:
    """Another file moved into the checked name (no link at all) is not the checked file: refused too."""
    clip = write_file(media / "clip.mp4", 4000, MP4_HEAD)
    local = roots.readable_file(str(clip), "path")
    write_file(media / "other.mp4", 4000, MP4_HEAD + SECRET).replace(clip)
    with pytest.raises(InvalidInputError, match="changed after it was checked"):
        await upload_local_file(mosaic, local)
    assert upload_requests(served) == 0
