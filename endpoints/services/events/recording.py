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
    events.append(_indexed(index, stats.as_v2_stats(), list(stats.errors), diff, unchanged=False))
    return events


def _indexed(
    index: EndpointIndex, stats: dict[str, Any], errors: list[str], diff: dict[str, Any], *, unchanged: bool
) -> NewEvent:
    payload = {
        "endpoint": endpoint_ref(index.endpoint),
        "index": _index_ref(index),
        "stats": stats,
        "errors": errors,
        "diff": _diff_summary(diff),
        "unchanged": unchanged,
    }
    return NewEvent(t.ENDPOINT_INDEXED, payload)


def _health_events(index: EndpointIndex, health: HealthTransition | None, reason: str) -> list[NewEvent]:
    """`endpoint.health_changed` when the run moved the endpoint's health (in the same batch)."""
    if health is None or not health.changed:
        return []
    data = {
        "endpoint": endpoint_ref(index.endpoint),
        "health": {"previous": health.old, "current": health.new},
        "consecutiveFailures": health.consecutive_failures,
        "reason": reason,
    }
    return [NewEvent(t.ENDPOINT_HEALTH_CHANGED, data)]


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
    *, index: EndpointIndex, stats: dict[str, Any], health: HealthTransition | None = None
) -> Sequence[RegistryEvent]:
    """A free re-index (same document, same registry) only closes the index: nothing was written, so
    no job or follow-up event repeats (they were delivered, at least once, when they happened)."""
    events = [_indexed(index, stats, [], {}, unchanged=True), *_health_events(index, health, "Index succeeded")]
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
    events = [NewEvent(t.ENDPOINT_INDEX_FAILED, data), *_health_events(index, health, reason)]
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
