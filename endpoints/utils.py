from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def js_iso(value: datetime | None) -> str | None:
    """ISO 8601 the way JavaScript's Date#toJSON writes it (millisecond precision, `Z`)."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def nul_path(value: Any, path: tuple[str | int, ...] = ()) -> tuple[str | int, ...] | None:
    """Where the first NUL character is in a JSON value (PostgreSQL cannot store it), else None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        if isinstance(key, str) and "\x00" in key:
            return (*path, key)
        if (found := nul_path(item, (*path, key))) is not None:
            return found
    return None
