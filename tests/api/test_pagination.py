"""paginate: cursors followed verbatim, bounded by max_items, never looping on a repeated cursor."""

from __future__ import annotations

import pytest

from mosaic_mcp.server.api import paginate

pytestmark = pytest.mark.anyio


class Pages:
    """A fake list endpoint serving fixed pages and recording the cursors asked for."""

    def __init__(self, pages: dict[str | None, tuple[list[int], str | None]]) -> None:
        self.pages = pages
        self.asked: list[str | None] = []

    async def __call__(self, cursor: str | None) -> tuple[list[int], str | None]:
        self.asked.append(cursor)
        return self.pages[cursor]


async def test_follows_cursors_to_the_end() -> None:
    """Every page is fetched once, with the previous page's cursor passed back verbatim."""
    pages = Pages({None: ([1, 2], "c1"), "c1": ([3], "c2"), "c2": ([4], None)})
    assert [item async for item in paginate(pages)] == [1, 2, 3, 4]
    assert pages.asked == [None, "c1", "c2"]


async def test_stops_at_max_items_without_fetching_more() -> None:
    """max_items ends the iteration without asking for the next page."""
    pages = Pages({None: ([1, 2], "c1"), "c1": ([3], None)})
    assert [item async for item in paginate(pages, max_items=2)] == [1, 2]
    assert pages.asked == [None]


async def test_repeated_cursor_ends_the_iteration() -> None:
    """A service that hands back a cursor it already gave cannot make the client loop."""
    pages = Pages({None: ([1], "same"), "same": ([2], "same")})
    assert [item async for item in paginate(pages)] == [1, 2]
