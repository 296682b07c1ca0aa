"""Request bodies for the Mosaic and Motion APIs: a re-export façade.

Each body lives beside the client methods of its area (`_runs_types.py`, `_agents_types.py`,
`motion_types.py`; the base `RequestModel` and its rules in `_types.py`). This module re-exports them so
importers need not know the areas: import from here.
"""

from __future__ import annotations

from ._agents_types import (
    VIDEO_INPUT_NODE_TYPE_ID,
    CreateConnectionOp,
    CreateNodeOp,
    DeleteConnectionOp,
    DeleteNodeOp,
    GraphOperation,
    UpdateNodeOp,
)
from ._runs_types import MimirAsset, RunRequest, VideoInput
from ._types import RequestModel
from .motion_types import Attachment, DesignMd, FollowupRequest, MotionSessionRequest

__all__ = [
    "VIDEO_INPUT_NODE_TYPE_ID",
    "Attachment",
    "CreateConnectionOp",
    "CreateNodeOp",
    "DeleteConnectionOp",
    "DeleteNodeOp",
    "DesignMd",
    "FollowupRequest",
    "GraphOperation",
    "MimirAsset",
    "MotionSessionRequest",
    "RequestModel",
    "RunRequest",
    "UpdateNodeOp",
    "VideoInput",
]
