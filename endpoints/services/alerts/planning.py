"""Turning registry events into alert notifications, in the transaction that records the events.

The outbox (`events_record`) calls `alert_notifications_record` when a batch holds an event of an
alerting type. The notifications are rows written with the event (no alert for a rolled-back
change, none lost when the broker is down: the sweeper finds every due row), unique per (channel,
endpoint, transition, streak), and queued for sending when the transaction commits.

Transitions: `endpoint.health_changed` to FAILING (from any other state) is *failing*, from FAILING
to HEALTHY *recovered*; `endpoint.disabling_soon` and `endpoint.disabled` are what they say. The
streak of the first three is the endpoint's `failing_since` (the first failure of the streak), so
a streak announces each of them at most once however many events repeat it; a recovery's streak is
its event (it ends the streak).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from endpoints.models import (
    AlertChannel,
    AlertNotification,
    AlertTransition,
    Endpoint,
    EndpointHealth,
    EndpointIndex,
    IndexStatus,
    RuntimeEnvironment,
)
from endpoints.services.events import types as t

from .dispatch import alert_dispatch

_FAILURE_SIDE = (AlertTransition.FAILING, AlertTransition.DISABLING_SOON, AlertTransition.DISABLED)


def transition_of(event_type: str, data: dict[str, Any]) -> AlertTransition | None:
    """The transition an event announces, if any."""
    if event_type == t.ENDPOINT_DISABLING_SOON:
        return AlertTransition.DISABLING_SOON
    if event_type == t.ENDPOINT_DISABLED:
        return AlertTransition.DISABLED
    if event_type == t.ENDPOINT_HEALTH_CHANGED:
        health = data.get("health") or {}
        previous, current = health.get("previous"), health.get("current")
        if current == EndpointHealth.FAILING and previous != EndpointHealth.FAILING:
            return AlertTransition.FAILING
        if previous == EndpointHealth.FAILING and current == EndpointHealth.HEALTHY:
            return AlertTransition.RECOVERED
    return None


def console_url(endpoint_id: str) -> str:
    """The endpoint's page in the operators' console (absolute when KONGFLOW_APP_ORIGIN is set)."""
    origin: str = settings.KONGFLOW_APP_ORIGIN
    return origin.rstrip("/") + reverse("admin:endpoints_endpoint_change", args=[endpoint_id])


def _last_error(endpoint_id: str) -> dict[str, Any]:
    error = (
        EndpointIndex.objects.filter(endpoint_id=endpoint_id, status=IndexStatus.FAILURE)
        .order_by("-created_at")
        .values_list("error", flat=True)
        .first()
    )
    return error if isinstance(error, dict) else {}


def render(
    *,
    transition: str,
    endpoint: dict[str, Any],
    environment: RuntimeEnvironment,
    data: dict[str, Any],
    error: dict[str, Any],
) -> tuple[str, str]:
    """Subject and text of a notification (the text is the Slack message's and the mail's body)."""
    name = f"{endpoint['slug']}"
    where = f"{environment.slug} ({environment.type})"
    failures = data.get("consecutiveFailures")
    threshold = data.get("threshold")
    headline = {
        AlertTransition.FAILING: f"Endpoint {name} is failing",
        AlertTransition.RECOVERED: f"Endpoint {name} recovered",
        AlertTransition.DISABLING_SOON: f"Endpoint {name} will be disabled soon",
        AlertTransition.DISABLED: f"Endpoint {name} was disabled",
    }[AlertTransition(transition)]
    lines = [f"{headline} in environment {where}."]
    if transition == AlertTransition.RECOVERED:
        lines.append("Its last index succeeded.")
    elif failures is not None:
        of = f" of {threshold}" if threshold else ""
        lines.append(f"Consecutive failed indexes: {failures}{of}.")
    if transition == AlertTransition.DISABLED:
        lines.append("Kongflow no longer indexes it until it is enabled again.")
    if transition != AlertTransition.RECOVERED:
        if error.get("code"):
            lines.append(f"Error: {error['code']}" + (f": {error['message']}" if error.get("message") else ""))
        if error.get("hint"):
            lines.append(f"Hint: {error['hint']}")
    lines.append(f"Console: {console_url(endpoint['id'])}")
    return f"[Kongflow] {headline} ({where})"[:300], "\n".join(lines)


def _error_in_batch(endpoint_id: str, batch: Sequence[tuple[str, str, dict[str, Any]]]) -> dict[str, Any]:
    for _, event_type, data in batch:
        if event_type == t.ENDPOINT_INDEX_FAILED and (data.get("endpoint") or {}).get("id") == endpoint_id:
            return dict(data.get("error") or {})
    return {}


def alert_notifications_record(
    *, environment: RuntimeEnvironment, batch: Sequence[tuple[str, str, dict[str, Any]]]
) -> list[str]:
    """Write a notification per channel of the environment for each transition the batch of
    (event id, type, data) announces; queue each for sending on commit. Call inside the events'
    transaction. Returns the ids queued (a duplicate of an existing row is skipped by the database)."""
    transitions = [
        (event_id, transition, data)
        for event_id, event_type, data in batch
        if (transition := transition_of(event_type, data)) is not None and (data.get("endpoint") or {}).get("id")
    ]
    if not transitions:
        return []
    channels = list(AlertChannel.objects.filter(environment_id=environment.id).values_list("id", flat=True))
    if not channels:
        return []
    endpoint_ids = {data["endpoint"]["id"] for _, _, data in transitions}
    streaks: dict[str, datetime | None] = dict(
        Endpoint.objects.filter(id__in=endpoint_ids).values_list("id", "failing_since")
    )
    rows: list[AlertNotification] = []
    now = timezone.now()
    for event_id, transition, data in transitions:
        endpoint = data["endpoint"]
        if endpoint["id"] not in streaks:
            continue  # gone (deleted for good) in this transaction
        since = streaks[endpoint["id"]]
        streak = since.isoformat() if transition in _FAILURE_SIDE and since is not None else event_id
        error: dict[str, Any] = {}
        if transition != AlertTransition.RECOVERED:
            # endpoint.disabling_soon / .disabled carry the last error as `error: {code, message, hint}`.
            error = {key: value for key, value in (data.get("error") or {}).items() if key in ("code", "hint")}
            error = error or _error_in_batch(endpoint["id"], batch) or _last_error(endpoint["id"])
        subject, text = render(
            transition=transition, endpoint=endpoint, environment=environment, data=data, error=error
        )
        rows += [
            AlertNotification(
                channel_id=channel_id,
                endpoint_id=endpoint["id"],
                transition=transition,
                streak=streak,
                event_id=event_id,
                subject=subject,
                text=text,
                next_attempt_at=now,
            )
            for channel_id in channels
        ]
    created = AlertNotification.objects.bulk_create(rows, ignore_conflicts=True)
    # With ignore_conflicts PostgreSQL does not say which rows were skipped: queue every id (ours,
    # made in Python); the task of a skipped one finds no row and does nothing.
    ids = [row.id for row in created]
    for notification_id in ids:
        transaction.on_commit(partial(alert_dispatch, notification_id=notification_id))
    return ids
