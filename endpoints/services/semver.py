"""Version ordering for the `latest` job alias.

The original compared version strings in SQL, so "1.10.0" sorted below "1.9.0". Kongflow orders by
semantic version instead. The SDK enforces `MAJOR.MINOR.PATCH`, but the server accepts any string, so
the key must give a total order over arbitrary strings: every parseable version ranks above every
unparseable one, and unparseable ones compare as plain strings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_SEMVER = re.compile(
    r"^v?(?P<core>\d+(?:\.\d+)*)(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$",
)

VersionKey = tuple[object, ...]


def _identifier_key(identifier: str) -> tuple[int, int, str]:
    # SemVer §11.4: numeric identifiers sort numerically and below alphanumeric ones.
    if identifier.isdigit():
        return (0, int(identifier), "")
    return (1, 0, identifier)


def version_key(version: str) -> VersionKey:
    """Sort key: `max(versions, key=version_key)` is the highest version (1.10.0 > 1.9.0 > 1.9.0-rc.1)."""
    match = _SEMVER.match(version)
    if match is None:
        return (0, version)
    numbers = tuple(int(part) for part in match["core"].split("."))
    numbers += (0,) * (3 - len(numbers))  # "1.2" ranks like "1.2.0"
    pre = match["pre"]
    # A release ranks above its pre-releases; the raw string breaks remaining ties ("1.2" vs "1.2.0").
    pre_key = (1, ()) if pre is None else (0, tuple(_identifier_key(p) for p in pre.split(".")))
    return (1, numbers, pre_key, version)


def version_max(versions: Iterable[str]) -> str | None:
    """The highest version, or None when there is none."""
    return max(versions, key=version_key, default=None)
