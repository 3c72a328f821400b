"""Ids shaped like the cuids of the original (opaque strings, roughly time-ordered)."""

from __future__ import annotations

import secrets
import string
import time

_ALPHABET = string.digits + string.ascii_lowercase


def _base36(number: int, width: int) -> str:
    chars = []
    for _ in range(width):
        number, rem = divmod(number, 36)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


#: SQL for the 16 random hex characters of ids made by a statement (after `time_prefix()`).
SQL_RANDOM_HEX = "substr(replace(gen_random_uuid()::text, '-', ''), 1, 16)"


def time_prefix(seconds: float | None = None) -> str:
    """'c' and 8 base36 characters of millisecond time (now, or `seconds` since the epoch): the part
    of an id that keeps b-tree inserts local."""
    return "c" + _base36(int((time.time() if seconds is None else seconds) * 1000), 8)


def new_id() -> str:
    """25 chars: `time_prefix()` and 16 random base36 characters (80 bits)."""
    return time_prefix() + _base36(int.from_bytes(secrets.token_bytes(10)), 16)


def new_ids(count: int, *, prefix: str = "", seconds: float | None = None) -> list[str]:
    """`count` ids for rows inserted together: `prefix`, one `time_prefix(seconds)` for all and 16
    random hex each (64 bits; the shape statements make with `SQL_RANDOM_HEX`)."""
    prefix += time_prefix(seconds)
    random = secrets.token_hex(8 * count)
    return [prefix + random[at : at + 16] for at in range(0, 16 * count, 16)]
