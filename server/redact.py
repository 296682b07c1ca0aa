"""Keys out of every message: the one scrub function, and the logging filter built on it.

`scrub` replaces anything that looks like a credential with a marker:

* the configured secrets themselves (`remember` is called by `Settings` and by each HTTP core),
  whatever their shape;
* `Bearer <token>`, as an upstream echoing our Authorization header would write it;
* `mk_…` and `motion_…` tokens that look random (a digit or a capital letter after the prefix),
  so that error codes such as `motion_pro_feature_required` stay readable.

It is applied to upstream error text before it becomes an error message, to every tool error,
and — through `RedactingFilter`, installed on the command's log handlers — to every log record,
at every level (httpcore's DEBUG lines quote rejected header values).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from typing import Any

REDACTED = "[REDACTED]"
MIN_SECRET_LENGTH = 6
"""Shorter configured values are not searched for (they would match ordinary words)."""

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\b(bearer)(\s+)[A-Za-z0-9._~+/=-]{8,}"), rf"\1\2{REDACTED}"),
    (
        re.compile(r"(?<![A-Za-z0-9_])(mk|motion)_(?=[A-Za-z0-9_-]*[A-Z0-9])[A-Za-z0-9_-]{4,}"),
        rf"\1_{REDACTED}",
    ),
)

_lock = threading.Lock()
_secrets: frozenset[str] = frozenset()
_secret_pattern: re.Pattern[str] | None = None


def remember(*values: str | None) -> None:
    """Add configured secrets to those `scrub` always removes (also their stripped form)."""
    global _secrets, _secret_pattern
    found = {v for value in values if value for v in (value, value.strip()) if len(v) >= MIN_SECRET_LENGTH}
    with _lock:
        if found <= _secrets:
            return
        _secrets = _secrets | found
        # Longest first, so a secret that contains another is removed whole.
        alternatives = sorted(_secrets, key=len, reverse=True)
        _secret_pattern = re.compile("|".join(re.escape(v) for v in alternatives))


def scrub(text: str) -> str:
    """`text` without anything that looks like an API key or a bearer token."""
    pattern = _secret_pattern
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    for regex, replacement in _PATTERNS:
        text = regex.sub(replacement, text)
    return text


def scrub_json(value: Any) -> Any:
    """A decoded JSON value with every string (keys included) scrubbed."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {scrub(str(k)): scrub_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_json(v) for v in value]
    return value


class RedactingFilter(logging.Filter):
    """A handler filter that scrubs each record's message, exception text and stack before output.

    The message is formatted here (`msg % args`) and the arguments dropped, so a key passed as an
    argument is caught too; the record is changed in place, for every handler after this one.
    """

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        """Scrub the record; never drop it."""
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep what can be kept, without arguments
            message = str(record.msg)
        record.msg, record.args = scrub(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


def install(handler: logging.Handler) -> None:
    """Put a `RedactingFilter` on `handler` (once)."""
    if not any(isinstance(f, RedactingFilter) for f in handler.filters):
        handler.addFilter(RedactingFilter())
