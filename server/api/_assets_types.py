"""Mosaic uploads and asset view URLs (reference section 2.5): responses."""

from typing import Any, Literal

from pydantic import Field, model_validator

from ._types import APIModel

AssetKind = Literal["video", "audio", "image"]
ASSET_KINDS: tuple[AssetKind, ...] = ("video", "audio", "image")


def _normalise_asset_id(data: Any) -> Any:
    """Fold the per-kind id key (`video_id`, `audio_id`, `image_id`) into `asset_kind`/`asset_id`."""
    if not isinstance(data, dict) or "asset_id" in data:
        return data
    for kind in ASSET_KINDS:
        key = f"{kind}_id"
        if key in data:
            return {**data, "asset_kind": data.get("asset_kind", kind), "asset_id": data[key]}
    return data


class UploadTicket(APIModel):
    """Step 1 of the upload flow: where to POST the bytes and which form fields to send first."""

    asset_kind: AssetKind
    asset_id: str
    upload_url: str
    upload_fields: dict[str, str] = Field(default_factory=dict)
    max_file_size_bytes: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        data = _normalise_asset_id(data)
        if isinstance(data, dict) and "upload_fields" not in data and isinstance(data.get("fields"), dict):
            data = {**data, "upload_fields": data["fields"]}  # older docs called it `fields`
        return data


class FinalizedUpload(APIModel):
    """Step 3 of the upload flow: the asset id, now usable in runs."""

    asset_kind: AssetKind
    asset_id: str

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        return _normalise_asset_id(data)


class ViewUrl(APIModel):
    """POST /uploads/get_view_url: a short-lived signed URL to look at an asset."""

    asset_type: str | None = Field(default=None, description="The asset's kind.")
    asset_id: str | None = Field(default=None, description="The asset.")
    signed_url: str = Field(description="Short-lived URL to view it.")
    thumbnail_url: str | None = Field(default=None, description="Short-lived URL of a still.")
