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


def new_id() -> str:
    """25 chars: 'c', 8 of millisecond time (keeps b-tree inserts local), 16 random (80 bits)."""
    return "c" + _base36(int(time.time() * 1000), 8) + _base36(int.from_bytes(secrets.token_bytes(10)), 16)


def new_ids(count: int) -> list[str]:
    """`count` ids for rows inserted together: 25 chars, 'c', 8 of millisecond time (one reading for
    all) and 16 random hex (64 bits each; the shape the registry's SQL generates too)."""
    prefix = "c" + _base36(int(time.time() * 1000), 8)
    random = secrets.token_hex(8 * count)
    return [prefix + random[at : at + 16] for at in range(0, 16 * count, 16)]
