"""Fixtures every suite shares (a pytest plugin, registered in tests/conftest.py)."""

import os

import pytest


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """Run async tests on asyncio (the backend MCP hosts use); the suite's only definition.

    Module-scoped so that module-scoped async fixtures (one sandbox or server per module) may use it;
    a test using only function-scoped fixtures still gets its own event loop (a loop lives as long as its users).
    """
    return "asyncio"


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the developer's own keys and settings out of every test."""
    for name in list(os.environ):
        if name.startswith(("MOSAIC_", "MOTION_")):
            monkeypatch.delenv(name)
