"""Argument types shared by the opt-in toolsets."""

from typing import Annotated

from pydantic import Field

from ..server import consent

Id = Annotated[str, Field(min_length=1, max_length=200)]
Limit = Annotated[int, Field(ge=1, le=100, description="Items per page.")]
Cursor = Annotated[str | None, Field(description="next_cursor from the previous page.")]
Since = Annotated[str | None, Field(description="ISO date/time: only items created from then on.")]
Until = Annotated[str | None, Field(description="ISO date/time: only items created up to then.")]
UpdatedFrom = Annotated[str | None, Field(description="ISO date/time: only items updated since (for polling).")]

# `confirm` of a consent-needing tool, one type per kind of action: a strict JSON boolean whose
# description tells the model which setting the person must have made (the catalogue reads it back).
ConfirmPayment = Annotated[
    bool, consent.REAL_BOOLEAN, Field(strict=True, description=consent.confirm_help(consent.PAYMENTS))
]
ConfirmPublishing = Annotated[
    bool, consent.REAL_BOOLEAN, Field(strict=True, description=consent.confirm_help(consent.PUBLISHING))
]
ConfirmDeleting = Annotated[
    bool, consent.REAL_BOOLEAN, Field(strict=True, description=consent.confirm_help(consent.DELETING))
]
