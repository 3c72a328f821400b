"""One function per place in the registry that emits events (each runs inside that change's transaction).

Payloads are documented in README.md ("Registry events"); every one carries `sequence`,
`environment` and, for endpoint-scoped events, `endpoint: {id, slug}`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from endpointapi.transport import sanitize_url
from endpoints.models import Endpoint, EndpointIndex, RegistryEvent, RuntimeEnvironment, WebhookSubscription

from . import types as t
from .outbox import NewEvent, events_record

if TYPE_CHECKING:
    from endpoints.services.health import HealthTransition
    from endpoints.services.registry import RegistryPlan, RegistryStats


def endpoint_ref(endpoint: Endpoint) -> dict[str, Any]:
    return {"id": endpoint.id, "slug": endpoint.slug}


def _url(url: str | None) -> str | None:
    return sanitize_url(url) if url else None


def record_endpoint_registered(
    *, endpoint: Endpoint, created: bool, previous_url: str | None, index_id: str
) -> Sequence[RegistryEvent]:
    """`endpoint.registered`, or `endpoint.restored` when registering brought a soft-deleted one back."""
    restored = not created and previous_url is None
    data = {
        "endpoint": {
            **endpoint_ref(endpoint),
            "url": _url(endpoint.url),
            "version": endpoint.version,
            "sdkVersion": endpoint.sdk_version,
        },
        "created": created,
        "previousUrl": _url(previous_url),
        "indexId": index_id,
    }
    kind = t.ENDPOINT_RESTORED if restored else t.ENDPOINT_REGISTERED
    return events_record(environment=endpoint.environment, events=[NewEvent(kind, data)])


def record_endpoints_deleted(*, endpoints: list[Endpoint]) -> Sequence[RegistryEvent]:
    """`endpoint.deleted` per endpoint (instances still carry their URL from before the delete)."""
    recorded: list[RegistryEvent] = []
    for endpoint in endpoints:
        data = {"endpoint": endpoint_ref(endpoint), "previousUrl": _url(endpoint.url)}
        recorded += events_record(environment=endpoint.environment, events=[NewEvent(t.ENDPOINT_DELETED, data)])
    return recorded


def _index_ref(index: EndpointIndex) -> dict[str, Any]:
    return {"id": index.id, "source": index.source, "reason": index.reason, "attempts": index.attempts}


def _diff_summary(diff: dict[str, Any]) -> dict[str, dict[str, int]]:
    return {
        collection: {
            "added": len(part.get("added", [])),
            "removed": len(part.get("removed", [])),
            "changed": len(part.get("changed", {})),
        }
        for collection, part in diff.items()
    }


def index_succeeded_events(
    *, index: EndpointIndex, plan: RegistryPlan, stats: RegistryStats, diff: dict[str, Any]
) -> list[NewEvent]:
    """Jobs added/changed/disabled, the follow-ups, then `endpoint.indexed` closing the index."""
    ref = endpoint_ref(index.endpoint)
    registered = {job.slug: job.version for job in plan.jobs_to_register}
    jobs_diff = diff.get("jobs", {})
    events: list[NewEvent] = []
    for slug in jobs_diff.get("added", []):
        if slug in registered:
            events.append(NewEvent(t.JOB_ADDED, {"endpoint": ref, "job": {"slug": slug, "version": registered[slug]}}))
    for slug, paths in sorted(jobs_diff.get("changed", {}).items()):
        if slug in registered:
            job = {"slug": slug, "version": registered[slug]}
            events.append(NewEvent(t.JOB_CHANGED, {"endpoint": ref, "job": job, "changed": paths}))
    for item in plan.jobs_to_disable:
        job = {"id": item.job_id, "slug": item.slug, "version": item.version}
        events.append(NewEvent(t.JOB_DISABLED, {"endpoint": ref, "job": job, "reason": item.why}))
    for kind, declared in (
        ("EVENT", plan.dynamic_triggers_to_register),
        ("SCHEDULE", plan.dynamic_schedules_to_register),
    ):
        for trigger in declared:
            payload = {"endpoint": ref, "dynamicTrigger": {"slug": trigger.get("id"), "type": kind}}
            events.append(NewEvent(t.DYNAMIC_TRIGGER_REGISTERED, payload))
    follow_ups = stats.follow_ups
    for activation in follow_ups.source_activations:
        events.append(NewEvent(t.SOURCE_ACTIVATION_REQUESTED, {"endpoint": ref, "source": activation}))
    for schedule_id in follow_ups.schedules_to_arm:
        events.append(NewEvent(t.SCHEDULE_ARMED, {"endpoint": ref, "schedule": {"id": schedule_id}}))
    for schedule_id in follow_ups.schedules_to_disarm:
        events.append(NewEvent(t.SCHEDULE_DISARMED, {"endpoint": ref, "schedule": {"id": schedule_id}}))
    for webhook_environment_id in follow_ups.webhooks_to_register:
        payload = {"endpoint": ref, "webhookEnvironment": {"id": webhook_environment_id}}
        events.append(NewEvent(t.WEBHOOK_REGISTRATION_REQUESTED, payload))
    events.append(
        _indexed(index, stats.as_v2_stats(), list(stats.errors), list(stats.warnings), diff, unchanged=False)
    )
    return events


def _indexed(
    index: EndpointIndex,
    stats: dict[str, Any],
    errors: list[str],
    warnings: list[dict[str, Any]],
    diff: dict[str, Any],
    *,
    unchanged: bool,
) -> NewEvent:
    payload = {
        "endpoint": endpoint_ref(index.endpoint),
        "index": _index_ref(index),
        "stats": stats,
        "errors": errors,
        "warnings": warnings,
        "diff": _diff_summary(diff),
        "unchanged": unchanged,
    }
    return NewEvent(t.ENDPOINT_INDEXED, payload)


def _health_events(
    index: EndpointIndex, health: HealthTransition | None, reason: str, error: dict[str, Any] | None = None
) -> list[NewEvent]:
    """`endpoint.health_changed` when the run moved the endpoint's health, then what it did to its
    switch: `endpoint.disabling_soon`, `endpoint.disabled` (a failure) or `endpoint.enabled` (a success)."""
    if health is None:
        return []
    events: list[NewEvent] = []
    if health.changed:
        data = {
            "endpoint": endpoint_ref(index.endpoint),
            "health": {"previous": health.old, "current": health.new},
            "consecutiveFailures": health.consecutive_failures,
            "reason": reason,
        }
        events.append(NewEvent(t.ENDPOINT_HEALTH_CHANGED, data))
    if health.disabling_soon or health.disabled:
        kind = t.ENDPOINT_DISABLED if health.disabled else t.ENDPOINT_DISABLING_SOON
        events.append(NewEvent(kind, _switch_payload(index.endpoint, health.consecutive_failures, index, error)))
    if health.enabled:
        data = {**_switch_payload(index.endpoint, health.ended_streak, index), "by": "index", "reason": reason}
        events.append(NewEvent(t.ENDPOINT_ENABLED, data))
    return events


def _switch_payload(
    endpoint: Endpoint, failures: int, index: EndpointIndex | None, error: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What `endpoint.disabling_soon`, `endpoint.disabled` and `endpoint.enabled` share."""
    from endpoints.services.health import disable_threshold

    data: dict[str, Any] = {
        "endpoint": endpoint_ref(endpoint),
        "consecutiveFailures": failures,
        "threshold": disable_threshold(),
        "index": _index_ref(index) if index is not None else None,
    }
    if error is not None:
        data["error"] = {"code": error.get("code"), "message": error.get("message"), "hint": error.get("hint")}
    return data


def record_endpoint_enabled(
    *, endpoint: Endpoint, transition: HealthTransition, by: str, reason: str | None = None
) -> Sequence[RegistryEvent]:
    """`endpoint.enabled` (and `endpoint.health_changed`) for a disable lifted without an index:
    `by` is "registration" or "operator"."""
    changed = {
        "endpoint": endpoint_ref(endpoint),
        "health": {"previous": transition.old, "current": transition.new},
        "consecutiveFailures": transition.consecutive_failures,
        "reason": reason,
    }
    enabled = {**_switch_payload(endpoint, transition.ended_streak, None), "by": by, "reason": reason}
    events = [NewEvent(t.ENDPOINT_HEALTH_CHANGED, changed), NewEvent(t.ENDPOINT_ENABLED, enabled)]
    return events_record(environment=endpoint.environment, events=events)


def record_index_succeeded(
    *,
    index: EndpointIndex,
    plan: RegistryPlan,
    stats: RegistryStats,
    diff: dict[str, Any],
    health: HealthTransition | None = None,
) -> Sequence[RegistryEvent]:
    """The events of a SUCCESS, recorded in the transaction that stores it."""
    events = index_succeeded_events(index=index, plan=plan, stats=stats, diff=diff)
    events += _health_events(index, health, "Index succeeded")
    return events_record(environment=index.endpoint.environment, events=events)


def record_index_unchanged(
    *,
    index: EndpointIndex,
    stats: dict[str, Any],
    warnings: list[dict[str, Any]] | None = None,
    health: HealthTransition | None = None,
) -> Sequence[RegistryEvent]:
    """A free re-index (same document, same registry) only closes the index: nothing was written, so
    no job or follow-up event repeats (they were delivered, at least once, when they happened).
    The document's warnings do repeat: it still declares what the registry ignores."""
    events = [
        _indexed(index, stats, [], list(warnings or []), {}, unchanged=True),
        *_health_events(index, health, "Index succeeded"),
    ]
    return events_record(environment=index.endpoint.environment, events=events)


def record_index_failed(
    *, index: EndpointIndex, error: dict[str, Any], health: HealthTransition | None = None
) -> Sequence[RegistryEvent]:
    """`endpoint.index_failed` for a run that ended FAILURE (retries in between emit nothing)."""
    data = {
        "endpoint": endpoint_ref(index.endpoint),
        "index": _index_ref(index),
        "error": {"code": error.get("code"), "message": error.get("message"), "hint": error.get("hint")},
    }
    reason = f"Index failed: {error.get('code')}"
    events = [NewEvent(t.ENDPOINT_INDEX_FAILED, data), *_health_events(index, health, reason, error)]
    return events_record(environment=index.endpoint.environment, events=events)


def record_health_changed(
    *, endpoint: Endpoint, previous: str | None, current: str, reason: str | None = None
) -> Sequence[RegistryEvent]:
    """`endpoint.health_changed`: to be called by the console's health model where it moves a state."""
    data = {"endpoint": endpoint_ref(endpoint), "health": {"previous": previous, "current": current}, "reason": reason}
    return events_record(environment=endpoint.environment, events=[NewEvent(t.ENDPOINT_HEALTH_CHANGED, data)])


def record_webhook_disabled(
    *, subscription: WebhookSubscription, environment: RuntimeEnvironment, reason: str
) -> Sequence[RegistryEvent]:
    data = {
        "subscription": {"id": subscription.id, "url": _url(subscription.url)},
        "reason": reason,
        "failingSince": subscription.failing_since.isoformat() if subscription.failing_since else None,
    }
    return events_record(environment=environment, events=[NewEvent(t.WEBHOOK_DISABLED, data)])
