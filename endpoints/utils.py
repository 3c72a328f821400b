from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit


def js_iso(value: datetime | None) -> str | None:
    """ISO 8601 the way JavaScript's Date#toJSON writes it (millisecond precision, `Z`)."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _unstorable(text: str) -> bool:
    """A NUL character, or half of a UTF-16 surrogate pair (JSON's `\\ud800` escapes decode to one)."""
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def unstorable_path(value: Any) -> tuple[str | int, ...] | None:
    """Where the first text PostgreSQL cannot store is in a JSON value (a NUL character or an
    unpaired surrogate, both valid JSON), else None.

    Iterative, so that a document nested as deep as the JSON decoder allows cannot overflow the stack.
    A C-speed pre-check comes first: a dump writes every NUL as the escape `\\u0000` and cannot be
    encoded to UTF-8 with an unpaired surrogate in it, so most documents are cleared without a walk.
    """
    try:
        dumped = json.dumps(value, ensure_ascii=False)
        if "\\u0000" not in dumped:
            dumped.encode("utf-8")
            return None
    except (RecursionError, TypeError, ValueError):  # UnicodeEncodeError is a ValueError
        pass
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while stack:
        current, path = stack.pop()
        if isinstance(current, str):
            if _unstorable(current):
                return path
        elif isinstance(current, dict):
            for key, item in reversed(current.items()):
                if isinstance(key, str) and _unstorable(key):
                    return (*path, key)
                stack.append((item, (*path, key)))
        elif isinstance(current, list):
            stack.extend((item, (*path, index)) for index, item in reversed(list(enumerate(current))))
    return None


def mask_url(url: str) -> str:
    """A secret-bearing URL (a Slack incoming webhook) as shown anywhere: scheme, host and the last
    4 characters (`https://hooks.slack.com/…wxyz`)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return "…"
    return f"{parts.scheme}://{host}/…{url[-4:]}" if host else "…"
