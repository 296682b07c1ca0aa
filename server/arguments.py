"""Tool arguments are a closed set: a name a tool does not take is refused, with the closest valid one.

The SDK's argument models ignore names they do not know (python-sdk#3067), so a typo such as
`video_url` would run the tool as if the argument had not been given — for `run_agent`, a paid run
on nothing. `MosaicServer` therefore publishes every input schema closed (`additionalProperties:
false`) and refuses a call with an unknown argument before the tool runs; models nested in
arguments refuse unknown fields the same way (`tools/_common.py`, `ClosedInput`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable, Mapping
from typing import Any

MAX_NAMED = 5
"""Unknown names quoted in one message; a call with thousands of them gets the first few."""

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def closed_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The input schema with `additionalProperties: false` at its root."""
    return {**schema, "additionalProperties": False}


def unknown_names(given: Iterable[str], known: Collection[str]) -> list[str]:
    """The given names that are not known, in the order given."""
    return [name for name in given if name not in known]


def closest(name: str, known: Collection[str]) -> str | None:
    """The known name `name` most likely meant (camelCase, dashes and case forgiven), if any is close."""
    wanted = _CAMEL.sub("_", name).replace("-", "_").lower()
    matches = difflib.get_close_matches(wanted, list(known), n=1, cutoff=0.6)
    return matches[0] if matches else None


def unknown_names_message(unknown: Collection[str], known: Collection[str], *, what: str, owner: str) -> str:
    """`unknown argument 'video_url' (did you mean 'video_urls'?); run_agent takes agent_id, …`."""
    quoted = []
    for name in list(unknown)[:MAX_NAMED]:
        match = closest(name, known)
        quoted.append(f"{_quote(name)} (did you mean {match!r}?)" if match else _quote(name))
    more = f" and {len(unknown) - MAX_NAMED:,} more" if len(unknown) > MAX_NAMED else ""
    plural = "s" if len(unknown) > 1 else ""
    takes = f"takes {', '.join(known)}" if known else f"takes no {what}s"
    return f"unknown {what}{plural} {', '.join(quoted)}{more}; {owner} {takes}. Nothing was run or sent."


def _quote(name: str) -> str:
    """A caller-chosen name, quoted with control characters escaped and cut to a readable length."""
    return repr(name if len(name) <= 60 else name[:59] + "…")
