"""Argument types shared by the opt-in toolsets."""

from typing import Annotated

from pydantic import Field

from ..server.consent import CONFIRM_HELP

Id = Annotated[str, Field(min_length=1, max_length=200)]
Limit = Annotated[int, Field(ge=1, le=100, description="Items per page.")]
Cursor = Annotated[str | None, Field(description="next_cursor from the previous page.")]
Since = Annotated[str | None, Field(description="ISO date/time: only items created from then on.")]
Until = Annotated[str | None, Field(description="ISO date/time: only items created up to then.")]
UpdatedFrom = Annotated[str | None, Field(description="ISO date/time: only items updated since (for polling).")]
Confirm = Annotated[bool, Field(description=CONFIRM_HELP)]
