"""Fingerprint and compare index documents, so an index can say what changed since the previous one.

Both functions are pure: they work on the validated document (camelCase keys, §2) and never touch the
database. Items of the top-level collections are matched by their natural key (`id` or `key`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast

from endpoints.jsoncodec import canonical_dumps

C = TypeVar("C", dict[str, Any], list[Any])

# Collection name -> the key that identifies an item in it.
COLLECTIONS: dict[str, str] = {
    "jobs": "id",
    "sources": "key",
    "dynamicTriggers": "id",
    "dynamicSchedules": "id",
    "httpEndpoints": "id",
    "webhooks": "key",
}


def _item_key(item: Any) -> str | None:
    if isinstance(item, dict):
        for name in ("id", "key"):
            value = item.get(name)
            if isinstance(value, str):
                return value
    return None


def _canonical(value: Any) -> Any:
    """Sort lists whose items all carry an id/key by that id/key. Other lists keep their order: it can
    matter (display properties, `$between` bounds). Dict keys are sorted by the encoder (`canonical_dumps`),
    so only containers are walked, and a container is copied only when something inside it moves
    (an SDK document is mostly in order already: the walk then allocates almost nothing)."""
    if isinstance(value, dict):
        return _with_children(value, value.items(), dict)
    if isinstance(value, list):
        items = _with_children(value, enumerate(value), list)
        if items and isinstance(items[0], dict):
            keys = [_item_key(item) for item in items]
            if all(key is not None for key in keys):
                present = cast(list[str], keys)  # none is None (checked above)
                if present != sorted(present):
                    return [item for _, item in sorted(zip(present, items, strict=True), key=lambda pair: pair[0])]
        return items
    return value


def _with_children(container: C, children: Iterable[tuple[Any, Any]], copy: Callable[[C], C]) -> C:
    """`container` with its container children made canonical: itself when none moved, else a copy."""
    copied: Any = None
    for position, item in children:
        if isinstance(item, dict | list):
            new = _canonical(item)
            if new is not item:
                if copied is None:
                    copied = copy(container)
                copied[position] = new
    return container if copied is None else cast(C, copied)


def _canonical_json(value: Any) -> bytes:
    return canonical_dumps(_canonical(value))


def document_hash(data: dict[str, Any]) -> str:
    """sha256 of the canonical JSON form: equal for documents that differ only in key or item order."""
    return hashlib.sha256(_canonical_json(data)).hexdigest()


def _index(items: Any, key_name: str) -> dict[str, Any]:
    # Duplicate ids: the last one wins, as when the registry applies the document.
    result: dict[str, Any] = {}
    for item in items or []:
        if isinstance(item, dict) and isinstance(item.get(key_name), str):
            result[item[key_name]] = item
    return result


def _changed_paths(before: Any, after: Any, prefix: str, out: list[str]) -> None:
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after)):
            path = f"{prefix}.{key}" if prefix else key
            if key not in before or key not in after:
                out.append(path)
            else:
                _changed_paths(before[key], after[key], path, out)
        return
    # Lists and scalars are compared whole, in the same canonical JSON as the hash (reordered keyed
    # items are no change; 1 vs true or 1 vs 1.0 is one), so documents with equal hashes diff empty.
    if _canonical_json(before) != _canonical_json(after):
        out.append(prefix)


def _collection_diff(previous: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    changed: dict[str, list[str]] = {}
    for key in sorted(set(previous) & set(current)):
        # Per item first: one canonical dump each instead of one per leaf for unchanged items.
        if _canonical_json(previous[key]) == _canonical_json(current[key]):
            continue
        paths: list[str] = []
        _changed_paths(previous[key], current[key], "", paths)
        if paths:
            changed[key] = paths
    return {
        "added": sorted(set(current) - set(previous)),
        "removed": sorted(set(previous) - set(current)),
        "changed": changed,
    }


def document_diff(previous: dict[str, Any] | None, current: dict[str, Any]) -> dict[str, Any]:
    """Per collection: ids added, removed, and for kept items the dotted paths that changed.
    `previous=None` (first index) reports everything as added."""
    result: dict[str, Any] = {}
    for collection, key_name in COLLECTIONS.items():
        before = _index((previous or {}).get(collection), key_name)
        after = _index(current.get(collection), key_name)
        result[collection] = _collection_diff(before, after)
    return result


def jobs_diff_summary(diff: dict[str, Any] | None) -> dict[str, list[str]] | None:
    """The job ids a stored diff added, removed and changed (what a deploy changed), or None."""
    if diff is None:
        return None
    jobs = diff.get("jobs") or {}
    return {
        "added": list(jobs.get("added") or []),
        "removed": list(jobs.get("removed") or []),
        "changed": sorted(jobs.get("changed") or {}),
    }
