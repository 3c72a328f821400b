from __future__ import annotations

from datetime import UTC, datetime


def js_iso(value: datetime | None) -> str | None:
    """ISO 8601 the way JavaScript's Date#toJSON writes it (millisecond precision, `Z`)."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
