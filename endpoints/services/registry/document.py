"""How declared items are read: the SDK's shapes and defaults, in one place for plan and apply."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from endpoints.services.registry.bulk import unique


def dedupe(items: Iterable[Any] | None, key_name: str) -> dict[str, dict[str, Any]]:
    """By natural key, first position, last value: what sequential registration would leave behind,
    and one row per conflict key (a bulk upsert may not touch a row twice)."""
    result: dict[str, dict[str, Any]] = {}
    for item in items or []:
        if isinstance(item, dict) and isinstance(item.get(key_name), str):
            result[item[key_name]] = item
    return result


def duplicates(items: Iterable[Any] | None, key_name: str) -> dict[str, list[dict[str, Any]]]:
    """The keys declared more than once, with every declaration in document order (`dedupe` keeps
    the last): what an index reports as a warning instead of dropping without a word."""
    seen: dict[str, list[dict[str, Any]]] = {}
    for item in items or []:
        if isinstance(item, dict) and isinstance(item.get(key_name), str):
            seen.setdefault(item[key_name], []).append(item)
    return {key: declared for key, declared in seen.items() if len(declared) > 1}


def is_v2(source: dict[str, Any]) -> bool:
    """Sources without a version are v1 (the SDK adds the field from 2.x on)."""
    return str(source.get("version", "1")) == "2"


def source_options(source: dict[str, Any]) -> dict[str, list[str]]:
    """v1 declares `events` (stored as option "event"), v2 `options`; values de-duplicated."""
    raw = (source.get("options") or {}) if is_v2(source) else {"event": source.get("events") or []}
    return {name: unique(str(value) for value in values) for name, values in raw.items()}


def http_endpoint_key(webhook: dict[str, Any]) -> str | None:
    """The id of the HTTP endpoint a webhook declares it rides on."""
    return (webhook.get("httpEndpoint") or {}).get("id")
