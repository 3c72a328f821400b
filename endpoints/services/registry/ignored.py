"""Warnings: what the registry ignored in an index document, each with a stable code.

Stored on the run (`EndpointIndex.warnings`), returned by the API and carried by `endpoint.indexed`.
The index still succeeds: the document is applied as today, but nothing is dropped without a word.
"""

from __future__ import annotations

from typing import Any

from endpoints.services.registry.document import dedupe, duplicates

#: A job id declared more than once: the last declaration is registered (v2 stored every version).
DUPLICATE_JOB_ID = "DUPLICATE_JOB_ID"
#: An example id declared more than once in one job's event: the last one is stored.
DUPLICATE_EXAMPLE_ID = "DUPLICATE_EXAMPLE_ID"
DUPLICATE_SOURCE_KEY = "DUPLICATE_SOURCE_KEY"
DUPLICATE_DYNAMIC_TRIGGER_ID = "DUPLICATE_DYNAMIC_TRIGGER_ID"
DUPLICATE_DYNAMIC_SCHEDULE_ID = "DUPLICATE_DYNAMIC_SCHEDULE_ID"
DUPLICATE_HTTP_ENDPOINT_ID = "DUPLICATE_HTTP_ENDPOINT_ID"
DUPLICATE_WEBHOOK_KEY = "DUPLICATE_WEBHOOK_KEY"
#: `enabled: false` for a job the project never registered: there is nothing to disable or store.
DISABLED_JOB_NOT_REGISTERED = "DISABLED_JOB_NOT_REGISTERED"
#: An item that cannot be stored (too long an id, a missing integration, …): `message` says which.
ITEM_SKIPPED = "ITEM_SKIPPED"

# collection in the document -> (its natural key, the warning's code, the warning's name for the key)
_COLLECTIONS = {
    "sources": ("key", DUPLICATE_SOURCE_KEY, "source"),
    "dynamicTriggers": ("id", DUPLICATE_DYNAMIC_TRIGGER_ID, "dynamicTrigger"),
    "dynamicSchedules": ("id", DUPLICATE_DYNAMIC_SCHEDULE_ID, "dynamicSchedule"),
    "httpEndpoints": ("id", DUPLICATE_HTTP_ENDPOINT_ID, "httpEndpoint"),
    "webhooks": ("key", DUPLICATE_WEBHOOK_KEY, "webhook"),
}


def duplicate_warnings(data: dict[str, Any]) -> list[dict[str, Any]]:
    """One warning per id or key a collection of the document declares more than once."""
    found: list[dict[str, Any]] = [
        {"code": DUPLICATE_JOB_ID, "job": slug, "versions": [str(job.get("version")) for job in declared]}
        for slug, declared in duplicates(data.get("jobs"), "id").items()
    ]
    for job in dedupe(data.get("jobs"), "id").values():
        examples = (job.get("event") or {}).get("examples")
        for example, declared in duplicates(examples, "id").items():
            found.append({"code": DUPLICATE_EXAMPLE_ID, "job": job["id"], "example": example, "count": len(declared)})
    for collection, (key_name, code, label) in _COLLECTIONS.items():
        for key, declared in duplicates(data.get(collection), key_name).items():
            found.append({"code": code, label: key, "count": len(declared)})
    return found


def disabled_job_not_registered(job: dict[str, Any]) -> dict[str, Any]:
    return {"code": DISABLED_JOB_NOT_REGISTERED, "job": job["id"], "version": str(job.get("version"))}


def item_skipped(message: str) -> dict[str, Any]:
    return {"code": ITEM_SKIPPED, "message": message}
