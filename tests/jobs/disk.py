"""A tiny disk for full-disk tests: a 1 MB tmpfs (needs root and `mount`; skipped with a reason otherwise)."""

import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

NEEDS = "needs root and `mount -t tmpfs -o size=1m tmpfs DIR` (a small tmpfs for the full-disk test)"


@contextmanager
def small_tmpfs(folder: Path) -> Iterator[Path]:
    """Mount an empty 1 MB tmpfs on `folder` (created), unmount it afterwards; skip the test where impossible."""
    if os.name != "posix" or os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip(NEEDS)
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], capture_output=True, text=True, check=False
    )
    if mounted.returncode != 0:
        pytest.skip(f"{NEEDS}; mount said: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        if subprocess.run(["umount", str(folder)], capture_output=True, check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(folder)], capture_output=True, check=False)


def fill_disk(folder: Path) -> Path:
    """Write a file until the disk is full; delete it to give the space back."""
    filler = folder / "filler"
    chunk = b"\0" * 4096
    with filler.open("wb", buffering=0) as out:
        for _ in range(1024):  # bounded: the disk is 1 MB
            try:
                out.write(chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                break
    return filler
