from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any


def js_iso(value: datetime | None) -> str | None:
    """ISO 8601 the way JavaScript's Date#toJSON writes it (millisecond precision, `Z`)."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def nul_path(value: Any) -> tuple[str | int, ...] | None:
    """Where the first NUL character is in a JSON value (PostgreSQL cannot store it), else None.

    Iterative, so that a document nested as deep as the JSON decoder allows cannot overflow the stack.
    A C-speed pre-check comes first: `json.dumps` writes every NUL as the escape `\\u0000`, so a
    document whose dump lacks it has none (most do); only the others are walked to find the path.
    """
    try:
        if "\\u0000" not in json.dumps(value):
            return None
    except (RecursionError, TypeError, ValueError):
        pass
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while stack:
        current, path = stack.pop()
        if isinstance(current, str):
            if "\x00" in current:
                return path
        elif isinstance(current, dict):
            for key, item in reversed(current.items()):
                if "\x00" in key:
                    return (*path, key)
                stack.append((item, (*path, key)))
        elif isinstance(current, list):
            stack.extend((item, (*path, index)) for index, item in reversed(list(enumerate(current))))
    return None
