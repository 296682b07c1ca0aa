"""JSON-RPC lines on stdio: each line in becomes an SDK message or the error that answers it.

The SDK's own stdio reader (mcp 2.3) parses a line with `jsonrpc_message_adapter` and, when that
fails, hands the exception to the session, which logs it at debug level and drops it: the client
never hears back. A line is refused when it is not JSON, not an object (a batch array), lacks
`method`, has an `id` that is not a string or an integer (the SDK then takes it for a notification),
holds a lone UTF-16 surrogate (`"\\ud800"`), or is nested deeper than the SDK's parser reads (~200).
This module says why, in a JSON-RPC error: -32700 with id null when the line is not JSON, -32600
with the request's id when that id can be read. Good lines are parsed exactly as the SDK parses them.

To find the id of a line the SDK refused, `outline` reads the JSON iteratively (no recursion, so any
depth is safe) and keeps only the top-level members that are scalars.

`encode` is the other direction: a message whose strings hold lone surrogates (a file name that is
not UTF-8, an upstream answer with `\\ud800`) cannot be encoded by pydantic; it is written with
U+FFFD in their place instead of killing the writer.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from mcp.shared.message import SessionMessage
from mcp.types import (
    INTERNAL_ERROR,
    INVALID_REQUEST,
    PARSE_ERROR,
    ErrorData,
    JSONRPCError,
    JSONRPCMessage,
    JSONRPCNotification,
    JSONRPCResponse,
    RequestId,
    jsonrpc_message_adapter,
)
from pydantic import ValidationError
from pydantic_core import to_jsonable_python

log = logging.getLogger("mosaic_mcp.stdio")

_TOKEN = re.compile(
    r"""[ \t\n\r]*+(?:
      (?P<string>"(?:[^"\\\x00-\x1f]++|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*+")
    | (?P<punct>[\[\]{},:])
    | (?P<number>-?(?:0|[1-9][0-9]*+)(?:\.[0-9]++)?(?:[eE][+-]?[0-9]++)?)
    | (?P<literal>true|false|null)
    )""",
    re.VERBOSE,
)
_SPACE = re.compile(r"[ \t\n\r]*+")
_SURROGATE = re.compile("[\ud800-\udfff]")
_LITERALS: dict[str, Any] = {"true": True, "false": False, "null": None}
_CLOSING = {"{": "}", "[": "]"}


@dataclass
class Outline:
    """What a JSON text is at its top level: `{`, `[` or a scalar, its scalar members, its depth."""

    top: str = ""
    members: dict[str, Any] = field(default_factory=dict)  # containers are given as "{" or "["
    depth: int = 0
    lone_surrogate: bool = False


def outline(text: str) -> Outline:
    """Read `text` as strict JSON (RFC 8259) without recursion; ValueError says where it is not JSON."""
    shape = Outline()
    stack: list[str] = []
    key = ""
    want = "value"  # what may come next: value, value], key, key}, :, "," or end
    pos = _skip_space(text, 0)
    while pos < len(text):
        if want == "end":
            raise ValueError(f"unexpected text after the JSON value at column {pos + 1}")
        token = _TOKEN.match(text, pos)
        if token is None:
            raise ValueError(f"unexpected character {text[pos]!r} at column {pos + 1}")
        kind, tok = token.lastgroup, token.group(token.lastgroup or 0)
        punct = tok if kind == "punct" else ""
        if (want, punct) in (("value]", "]"), ("key}", "}")) or (want == "," and punct == _CLOSING[stack[-1]]):
            stack.pop()
            want = "," if stack else "end"
        elif want in ("value", "value]") and punct in _CLOSING:
            if not stack:
                shape.top = punct
            elif stack == ["{"]:
                shape.members[key] = punct
            stack.append(punct)
            shape.depth = max(shape.depth, len(stack))
            want = "key}" if punct == "{" else "value]"
        elif want in ("value", "value]") and not punct:
            value = _scalar(kind, tok, shape)
            if not stack:
                shape.top = "scalar"
            elif stack == ["{"]:
                shape.members[key] = value
            want = "," if stack else "end"
        elif want in ("key", "key}") and kind == "string":
            key = _scalar(kind, tok, shape)
            want = ":"
        elif (want, punct) in ((":", ":"), (",", ",")):
            want = "value" if punct == ":" or stack[-1] == "[" else "key"
        else:
            raise ValueError(f"unexpected {tok[:20]!r} at column {pos + 1}")
        pos = _skip_space(text, token.end())
    if want != "end":
        raise ValueError("the text ends before the JSON value does")
    return shape


def _skip_space(text: str, pos: int) -> int:
    space = _SPACE.match(text, pos)
    return space.end() if space else pos


def _scalar(kind: str | None, tok: str, shape: Outline) -> Any:
    if kind == "literal":
        return _LITERALS[tok]
    value = json.loads(tok)  # one string or number token: never recursive
    if kind == "string" and _SURROGATE.search(value):
        shape.lone_surrogate = True  # json.loads joins valid pairs, so what is left is lone
    return value


def read_line(line: str) -> SessionMessage | JSONRPCError | None:
    """The SDK message a line carries, or the error that answers it; None for a blank line."""
    if not line.strip():
        return None
    try:
        message = jsonrpc_message_adapter.validate_json(line, by_name=False)
    except ValidationError as exc:
        return _refusal(line, exc)
    if isinstance(message, JSONRPCNotification) and _has_id(line):
        # The SDK reads {"id": true, "method": ...} as a notification and never answers it.
        return _error(INVALID_REQUEST, None, "id must be a string or an integer")
    return SessionMessage(message)


def _has_id(line: str) -> bool:
    try:
        return "id" in outline(line).members
    except ValueError:  # stricter than the SDK's parser (NaN, say): leave the SDK's reading alone
        return False


def _refusal(line: str, exc: ValidationError) -> JSONRPCError:
    """The JSON-RPC error for a line the SDK could not read as a message."""
    try:
        shape = outline(line)
    except ValueError as bad:
        return _error(PARSE_ERROR, None, f"Parse error: {bad}")
    if shape.top == "[":
        return _error(INVALID_REQUEST, None, "batches (JSON arrays) are not supported: send one message per line")
    if shape.top != "{":
        return _error(INVALID_REQUEST, None, "a JSON-RPC message must be a JSON object")
    return _error(INVALID_REQUEST, _usable_id(shape.members.get("id")), _reason(shape, exc))


def _usable_id(value: Any) -> RequestId | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    if isinstance(value, str) and _SURROGATE.search(value):
        return None  # it could not be written back as valid Unicode anyway
    return value


def _reason(shape: Outline, exc: ValidationError) -> str:
    members = shape.members
    if members.get("jsonrpc") != "2.0":
        return 'jsonrpc must be "2.0"'
    if shape.lone_surrogate:
        return "a string holds a lone UTF-16 surrogate (such as \\ud800), which is not Unicode text"
    if "id" in members and _usable_id(members["id"]) is None:
        return "id must be a string or an integer"
    if "method" not in members and not {"result", "error"} & members.keys():
        return "method is missing"
    if "method" in members and not isinstance(members["method"], str):
        return "method must be a string"
    if "recursion limit" in str(exc):
        return f"the message is nested {shape.depth} levels deep, deeper than this server reads"
    first = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"not a valid JSON-RPC message: {where + ': ' if where else ''}{first['msg']}"


def _error(code: int, request_id: RequestId | None, message: str) -> JSONRPCError:
    return JSONRPCError(jsonrpc="2.0", id=request_id, error=ErrorData(code=code, message=message))


def encode(message: JSONRPCMessage) -> str | None:
    """One JSON line for `message` (no newline), valid UTF-8 whatever its strings hold; never raises.

    None when a request or notification cannot be encoded at all (logged); a response that cannot
    be encoded becomes an internal error for its id, so the client is not left waiting.
    """
    try:
        return message.model_dump_json(by_alias=True, exclude_unset=True)
    except Exception:  # pydantic refuses lone surrogates: "surrogates not allowed"
        log.warning("an outgoing message cannot be encoded as is; sending it with lone surrogates as U+FFFD")
    try:
        data = message.model_dump(by_alias=True, exclude_unset=True)  # python mode keeps the strings as they are
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=to_jsonable_python)
        return _SURROGATE.sub("\ufffd", text)
    except Exception:
        log.exception("an outgoing message could not be encoded")
    if not isinstance(message, JSONRPCResponse | JSONRPCError):
        return None
    request_id = _SURROGATE.sub("\ufffd", message.id) if isinstance(message.id, str) else message.id
    return _error(INTERNAL_ERROR, request_id, "the server could not encode its answer").model_dump_json(
        by_alias=True, exclude_unset=True
    )
