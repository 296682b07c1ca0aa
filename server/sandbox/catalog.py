"""The node-type ("tile") catalogue and the parameter rules the sandbox enforces.

Like the live API, responses carry only id, name and docs links: the schemas below are private and
show up only as 400 ``{"detail": ...}`` messages naming the node and the parameter (DESIGN
section 4). Rough Cut, Clips, Reframe and YouTube Download are "undocumented" tiles: the reference
lists no parameters for them, yet the sandbox checks them strictly, as the live API would.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

ParamType = Literal["string", "integer", "number", "boolean", "object", "array"]
TileKind = Literal["input", "edit", "generation"]

VIDEO_INPUT_ID = "9451e6ff-ac7f-4317-9055-a2f35f641b29"
CAPTIONS_ID = "cdccb204-168e-4aec-aa72-480b11e74324"
AI_MUSIC_ID = "3b281fb9-9eb2-40f6-b05b-4b6f909a3da9"
AI_AVATAR_ID = "b3b4c9e2-2a47-4fa9-8ce8-0c1fa1d7b6ef"
VIDEO_GENERATION_ID = "a2eb3ec2-da7a-4f97-94d2-a9a537548522"
AUDIO_GENERATION_ID = "14687f30-5fd0-468f-8239-2784d83df95b"
IMAGE_GENERATION_ID = "18b998a0-2ea7-4676-a5d3-3ae6c8ac0b72"
# Not in the docs: made-up, stable ids.
REFRAME_ID = "5c0f3a52-7d1e-4b8a-9f61-2e4d8c7b1a90"
CLIPS_ID = "7e2b9d14-3c5a-4f08-b6e7-91a0d2c4f3e5"
ROUGH_CUT_ID = "c41d8e6f-0b27-4a93-8d15-6f2e9b3a7c08"
MOTION_GRAPHICS_ID = "e8a7c3d2-51f4-4e6b-a0c9-3b7d2f1e8a64"
YOUTUBE_DOWNLOAD_ID = "2f9e6b1c-8d43-4a7e-b5c2-0e1f7a9d3b56"
SILENCE_REMOVAL_ID = "d6b3f0a9-4e2c-4d81-9a7f-5c8e1b2d0f37"


@dataclass(frozen=True)
class Param:
    """One tile parameter: JSON type plus optional enum / numeric bounds."""

    type: ParamType
    required: bool = False
    enum: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    multiple_of: int | None = None


@dataclass(frozen=True)
class NodeType:
    """A tile: public identity, private parameter schema, cost and simulated duration."""

    node_type_id: str
    name: str
    slug: str
    kind: TileKind
    params: Mapping[str, Param] = field(default_factory=dict)
    cost: int = 0
    duration: tuple[float, float] = (6.0, 14.0)
    output: Literal["video", "image", "audio"] = "video"
    check: Callable[[Mapping[str, Any]], str | None] | None = None

    def public(self) -> dict[str, Any]:
        """The catalogue entry as the API shows it (no schema)."""
        return {
            "node_type_id": self.node_type_id,
            "node_type_name": self.name,
            "docs_url": f"https://docs.mosaic.so/tiles/{self.slug}",
            "params_docs_url": f"https://docs.mosaic.so/tiles/{self.slug}#api-info",
        }


def _custom_size(params: Mapping[str, Any]) -> str | None:
    # Image Generation: custom_width/custom_height are required with image_size "custom".
    if params.get("image_size") == "custom":
        missing = [k for k in ("custom_width", "custom_height") if k not in params]
        if missing:
            return f"parameter '{missing[0]}' is required when image_size is 'custom'"
    return None


def _selected_context(params: Mapping[str, Any]) -> str | None:
    context = params.get("selected_context")
    if context is None:
        return None
    images = context.get("images", [])
    if not isinstance(images, list) or not all(isinstance(i, str) for i in images):
        return "parameter 'selected_context.images' must be an array of strings"
    return None


def _image_checks(params: Mapping[str, Any]) -> str | None:
    return _custom_size(params) or _selected_context(params)


_S, _I, _N, _B = Param("string"), Param("integer"), Param("number"), Param("boolean")
_ASPECTS = ("9:16", "1:1", "4:5", "16:9")

CATALOG: tuple[NodeType, ...] = (
    NodeType(VIDEO_INPUT_ID, "Video Input", "video-input", "input", cost=0, duration=(0.0, 0.0)),
    NodeType(
        CAPTIONS_ID,
        "Captions",
        "captions",
        "edit",
        {
            "caption_style": _S,
            "caption_font": _S,
            # The vendor skill notes the weight must be a string such as "700".
            "caption_font_weight": _S,
            "caption_font_size": Param("integer", minimum=8, maximum=200),
            "caption_color": _S,
            "caption_position": Param("string", enum=("top", "middle", "bottom")),
            "language": _S,
        },
        cost=20,
        duration=(8.0, 16.0),
    ),
    NodeType(
        AI_MUSIC_ID,
        "AI Music",
        "ai-music",
        "edit",
        {
            "genre": _S,
            "mood": _S,
            "prompt": _S,
            "volume": Param("number", minimum=0, maximum=1),
            "audio_id": _S,
        },
        cost=25,
        duration=(8.0, 18.0),
    ),
    NodeType(
        AI_AVATAR_ID,
        "AI Avatar",
        "ai-avatar",
        "generation",
        {"avatar_profile_id": _S, "script": _S, "voice_id": _S},
        cost=60,
        duration=(15.0, 30.0),
    ),
    NodeType(
        VIDEO_GENERATION_ID,
        "Video Generation",
        "video-generation",
        "generation",
        {
            "prompt": Param("string", required=True),
            "duration_seconds": Param("integer", minimum=1, maximum=60),
            "aspect_ratio": Param("string", enum=_ASPECTS),
            "model": _S,
        },
        cost=80,
        duration=(15.0, 35.0),
    ),
    NodeType(
        AUDIO_GENERATION_ID,
        "Audio Generation",
        "audio-generation",
        "generation",
        {"prompt": Param("string", required=True), "duration_seconds": Param("integer", minimum=1, maximum=600)},
        cost=20,
        duration=(6.0, 12.0),
        output="audio",
    ),
    NodeType(
        IMAGE_GENERATION_ID,
        "Image Generation",
        "image-generation",
        "generation",
        {
            "prompt": Param("string", required=True),
            "model": Param("string", enum=("gpt-image-2",)),
            "image_size": Param(
                "string",
                enum=(
                    "square_hd",
                    "square",
                    "portrait_4_3",
                    "portrait_16_9",
                    "landscape_4_3",
                    "landscape_16_9",
                    "auto",
                    "custom",
                ),
            ),
            "custom_width": Param("integer", minimum=256, maximum=3840, multiple_of=16),
            "custom_height": Param("integer", minimum=256, maximum=3840, multiple_of=16),
            "quality": Param("string", enum=("low", "medium", "high")),
            "output_format": Param("string", enum=("jpeg", "png", "webp")),
            "selected_context": Param("object"),
        },
        cost=10,
        duration=(5.0, 10.0),
        output="image",
        check=_image_checks,
    ),
    NodeType(
        REFRAME_ID,
        "Reframe",
        "reframe",
        "edit",
        {"aspect_ratio": Param("string", enum=_ASPECTS), "track_subject": _B},
        cost=15,
        duration=(6.0, 12.0),
    ),
    NodeType(
        CLIPS_ID,
        "Clips",
        "clips",
        "edit",
        {
            "num_clips": Param("integer", minimum=1, maximum=20),
            "clip_length_seconds": Param("integer", minimum=5, maximum=180),
            "topic": _S,
        },
        cost=40,
        duration=(10.0, 20.0),
    ),
    NodeType(
        ROUGH_CUT_ID,
        "Rough Cut",
        "rough-cut",
        "edit",
        {"target_duration_seconds": Param("integer", required=True, minimum=5, maximum=7200), "instructions": _S},
        cost=30,
        duration=(8.0, 16.0),
    ),
    NodeType(
        MOTION_GRAPHICS_ID,
        "Motion Graphics",
        "motion-graphics",
        "edit",
        {"style_video_url": _S, "only_generate_full_screen_graphics": _B, "prompt": _S},
        cost=45,
        duration=(12.0, 24.0),
    ),
    NodeType(YOUTUBE_DOWNLOAD_ID, "YouTube Download", "youtube-download", "edit", {"quality": _S}, cost=5),
    NodeType(
        SILENCE_REMOVAL_ID,
        "Silence Removal",
        "silence-removal",
        "edit",
        {"min_silence_ms": Param("integer", minimum=100, maximum=10_000)},
        cost=10,
        duration=(4.0, 8.0),
    ),
)
BY_ID: dict[str, NodeType] = {t.node_type_id: t for t in CATALOG}


def _type_error(name: str, spec: Param, value: Any) -> str | None:
    ok = {
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "object": isinstance(value, dict),
        "array": isinstance(value, list),
    }[spec.type]
    if not ok:
        article = "an" if spec.type[0] in "aeiou" else "a"
        return f"parameter '{name}' must be {article} {spec.type}, got {type(value).__name__} {value!r}"
    return None


def _value_error(name: str, spec: Param, value: Any) -> str | None:
    problem = _type_error(name, spec, value)
    if problem is not None:
        return problem
    if spec.enum is not None and value not in spec.enum:
        return f"parameter '{name}' must be one of {', '.join(spec.enum)}; got {value!r}"
    if spec.minimum is not None and value < spec.minimum:
        return f"parameter '{name}' must be >= {spec.minimum:g}; got {value!r}"
    if spec.maximum is not None and value > spec.maximum:
        return f"parameter '{name}' must be <= {spec.maximum:g}; got {value!r}"
    if spec.multiple_of is not None and value % spec.multiple_of:
        return f"parameter '{name}' must be a multiple of {spec.multiple_of}; got {value!r}"
    return None


def params_problem(node_type: NodeType, params: Mapping[str, Any], *, complete: bool) -> str | None:
    """What is wrong with ``params`` for this tile (None if fine).

    ``complete`` also checks required parameters: true for a run's merged params, false for a
    patch applied while editing the graph.
    """
    for name, value in params.items():
        spec = node_type.params.get(name)
        if spec is None:
            return f"unknown parameter '{name}' for {node_type.name}"
        problem = _value_error(name, spec, value)
        if problem is not None:
            return problem
    if complete:
        for name, spec in node_type.params.items():
            if spec.required and name not in params:
                return f"parameter '{name}' is required"
        if node_type.check is not None:
            return node_type.check(params)
    return None
