"""The bases of the API's typed bodies: `APIModel` (responses), `RequestModel` (requests), `ObservabilityPage`.

Every response model allows extra fields: the docs drift without a version bump, and a new field must never
break parsing. Fields we read are typed; everything the reference marks nullable or optional has a
default, so a missing optional field does not fail.

Request models carry the structure (types, which fields exist). Enum and length fields are typed
with the rule aliases of `rules.py` but not checked on construction (`SkipValidation`): `validation.py`,
which the clients run before any request, checks them against the same aliases and names the field
and the rule in its error. Bodies serialise without `None` and without empty lists/objects: the API treats an
absent field as "not given", and an empty one may not mean the same.

The models of each API area sit beside its client methods (`_runs.py` + `_runs_types.py`, …);
`models.py` and `requests.py` re-export them all.
"""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SerializationInfo, SerializerFunctionWrapHandler, model_validator
from pydantic import model_serializer as _model_serializer


class APIModel(BaseModel):
    """Base of every response model: unknown fields are kept, not rejected."""

    # defer_build: ~70 models would otherwise be compiled at import, before the first reply.
    model_config = ConfigDict(extra="allow", defer_build=True)


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, list | dict) and not value)


class RequestModel(BaseModel):
    """Base of request bodies: unknown fields are refused, empty fields are not sent."""

    model_config = ConfigDict(extra="forbid", defer_build=True)  # compiled on first use, not at import

    @_model_serializer(mode="wrap")
    def _drop_empty(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> Any:
        data = handler(self)
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if not _is_empty(value)}
        return data

    def to_body(self) -> dict[str, Any]:
        """The JSON body to send."""
        body: dict[str, Any] = self.model_dump(mode="json")
        return body


class ObservabilityPage(APIModel):
    """A cursor page whose list key is undocumented: the first list in the body becomes `items`."""

    items: list[dict[str, Any]] = Field(default_factory=list, description="The entries, as the service gives them.")
    next_cursor: str | None = Field(default=None, description="Pass as cursor for the next page; null on the last.")

    @model_validator(mode="before")
    @classmethod
    def _find_items(cls, data: Any) -> Any:
        if isinstance(data, list):
            return {"items": data}
        if isinstance(data, dict) and "items" not in data:
            for value in data.values():
                if isinstance(value, list):
                    return {**data, "items": value}
        return data
