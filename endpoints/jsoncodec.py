"""JSON encoding for the paths that serialize whole documents: registry rows, outbox events, the
run's stored document and its fingerprint.

orjson encodes a 500-job document about ten times faster than the standard library. What orjson
refuses (integers beyond 64 bits, strings with lone surrogates) falls back to the standard
library, so every value the standard library could encode still can be: both write compact JSON
with non-ASCII characters as they are, which PostgreSQL reads the same way.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson

# Dates and dataclasses go to `default`, as with the standard library, so both paths agree.
_PASSTHROUGH = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def dumps(value: Any, *, default: Callable[[Any], Any] | None = None) -> str:
    """Compact JSON text (for a query parameter)."""
    try:
        return orjson.dumps(value, default=default, option=_PASSTHROUGH).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, default=default, separators=(",", ":"), ensure_ascii=False)


def canonical_dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON with every object's keys sorted: the same value always gives the same bytes."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
