"""Fixtures for the job-layer tests."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from ..support import small_tmpfs


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """An empty 1 MB tmpfs, unmounted afterwards (skipped where it cannot be mounted)."""
    with small_tmpfs(tmp_path / "small-disk") as folder:
        yield folder
