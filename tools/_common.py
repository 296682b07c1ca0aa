"""Argument types shared by the tools."""

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from ..server import consent
from ..server.api import rules
from ..server.arguments import unknown_names, unknown_names_message

Id = rules.ApiId
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


class ClosedInput(BaseModel):
    """An object inside a tool's arguments: a field it does not have is refused, with the closest one."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _known_fields(cls, data: Any) -> Any:
        if isinstance(data, dict):
            known = [info.alias or name for name, info in cls.model_fields.items()]
            unknown = unknown_names(data, known)
            if unknown:
                message = unknown_names_message(unknown, known, what="field", owner="this object")
                raise PydanticCustomError("unknown_field", "{message}", {"message": message})
        return data
