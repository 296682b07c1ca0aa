"""JSON-RPC lines on stdio: reading a line the SDK refused, and writing any answer."""

import json
import re
import sys

import pytest
from mcp.types import JSONRPCError, JSONRPCResponse

from mosaic_mcp.server.wire import encode, outline, read_line

VALID_JSON = ['{"a":[1,{"b":null}],"c":"\\u00e9\\"\\\\"}', " [ ] ", '"x"', "-0.5e+3", "true", '{"":{}}', "0"]
NOT_JSON = ["", "{", "[1,]", '{"a":1,}', '{"a"}', "01", "1.", '"\\x"', '"a\tb"', "[}", '{"a":1}}', "{}{}", "NaN", "'a'"]


@pytest.mark.parametrize("text", VALID_JSON)
def test_outline_reads_what_json_reads(text: str) -> None:
    """The iterative reader accepts valid JSON and gives the same top-level scalars as json.loads."""
    shape = outline(text)
    value = json.loads(text)
    if isinstance(value, dict):
        assert {k: v for k, v in shape.members.items() if v not in ("{", "[")} == {
            k: v for k, v in value.items() if not isinstance(v, dict | list)
        }


@pytest.mark.parametrize("text", NOT_JSON)
def test_outline_refuses_what_json_refuses(text: str) -> None:
    """Text that is not strict JSON is a ValueError that says where."""
    with pytest.raises(ValueError, match=r"column|ends before"):
        outline(text)


def test_deep_json_is_read_without_recursion() -> None:
    """JSON nested far past Python's recursion limit is measured, not a RecursionError."""
    depth = 20 * sys.getrecursionlimit()
    assert outline("[" * depth + "]" * depth).depth == depth


def test_a_deep_request_is_refused_with_its_id() -> None:
    """A request nested past the SDK's parser limit gets -32600 with its id, not silence."""
    line = '{"jsonrpc":"2.0","id":"deep","method":"tools/list","params":{"x":' + "[" * 300 + "]" * 300 + "}}"
    answer = read_line(line)
    assert isinstance(answer, JSONRPCError)
    assert (answer.id, answer.error.code) == ("deep", -32600)


def test_an_answer_with_lone_surrogates_is_encoded_as_utf8() -> None:
    """Where pydantic refuses lone surrogates, the line is still written, with U+FFFD in their place."""
    answer = JSONRPCResponse(jsonrpc="2.0", id=1, result={"text": "folder odd\udcff", "\ud800": 1})
    with pytest.raises(ValueError, match="surrogates not allowed"):
        answer.model_dump_json()  # what the SDK's own writer does, and dies of
    line = encode(answer)
    assert line is not None and not re.search("[\ud800-\udfff]", line)
    decoded = json.loads(line.encode("utf-8"))
    assert decoded == {"jsonrpc": "2.0", "id": 1, "result": {"text": "folder odd\ufffd", "\ufffd": 1}}
