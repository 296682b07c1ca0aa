"""Cursor pagination shared by every list endpoint.

The docs say: pass `next_cursor` back verbatim, keep the same filters, never build or decode a
cursor; `null` means no more pages. A cursor that repeats is treated as the end too, so a service
bug can never make us loop forever.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TypeVar

ItemT = TypeVar("ItemT")

FetchPage = Callable[[str | None], Awaitable[tuple[Sequence[ItemT], str | None]]]


async def paginate(
    fetch_page: FetchPage[ItemT], *, max_items: int | None = None, max_pages: int = 1000
) -> AsyncIterator[ItemT]:
    """Yield items page by page; `fetch_page(cursor)` returns `(items, next_cursor)`."""
    if max_items is not None and max_items <= 0:
        return
    cursor: str | None = None
    seen: set[str] = set()
    count = 0
    for _ in range(max_pages):
        items, next_cursor = await fetch_page(cursor)
        for item in items:
            yield item
            count += 1
            if max_items is not None and count >= max_items:
                return
        if not next_cursor or next_cursor in seen:
            return
        seen.add(next_cursor)
        cursor = next_cursor
