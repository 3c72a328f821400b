"""Delivering the outbox: drain a subscription's due deliveries in event order, record every attempt,
back off on failure, give up after the schedule, disable a subscription that keeps failing.

Ordering: a subscription's PENDING deliveries are sent strictly in event-sequence order. While the
oldest one waits for its retry, the later ones wait behind it (they are not attempted), so a
receiver that comes back gets the backlog in order. Retry times live in the rows
(`next_attempt_at`); the periodic sweep re-queues due subscriptions, so no long Celery countdown is
ever needed (with Redis + acks_late those would be re-delivered after the visibility timeout).

A URL the outbound guard refuses (FORBIDDEN_ADDRESS: nothing was sent) is a configuration error
that no retry can fix: the attempt is stored and the subscription disabled at once, its deliveries
kept PENDING for when it is enabled again (after fixing the URL or ENDPOINTAPI_ALLOWED_NETWORKS).

Only one worker drains a subscription at a time: it claims the subscription's lease with a
conditional update, and re-checks for due deliveries after releasing it (none is left behind). The
lease is also one of the few webhook slots its environment and its URL may hold at once (`slots`):
a drain that finds none does nothing, and its subscription, still due, is queued again by the
sweeper, or by the next drain of its environment to give a slot back.
"""

from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from endpointapi import EndpointApiError, ForbiddenAddress
from endpointapi.errors import ResponseTooLarge
from endpoints import metrics
from endpoints.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookSubscription
from endpoints.utils import js_iso

from .dispatch import delivery_dispatch
from .http import post_webhook
from .signing import signature_header
from .slots import saturated, slot_claim, slot_release
from .subscriptions import signing_secrets, subscription_disable

logger = logging.getLogger(__name__)

PREVIEW_CHARS = 1000
DRAIN_BATCH = 100  # deliveries read per query while draining


@dataclass
class DrainResult:
    delivered: int = 0
    failed_attempts: int = 0
    gave_up: int = 0


def retry_delay(attempts: int) -> float | None:
    """Seconds before the next attempt after `attempts` failed ones (with jitter); None: give up."""
    schedule: list[float] = settings.KONGFLOW_WEBHOOK_RETRY_SCHEDULE
    if attempts > len(schedule):
        return None
    base = float(schedule[attempts - 1])
    jitter = settings.KONGFLOW_WEBHOOK_RETRY_JITTER
    return max(0.0, base * (1 + random.uniform(-jitter, jitter)))


def _pending(subscription_id: str) -> QuerySet[WebhookDelivery]:
    return (
        WebhookDelivery.objects.filter(subscription_id=subscription_id, status=DeliveryStatus.PENDING)
        .select_related("event")
        .order_by("event__sequence")
    )


def _head(subscription_id: str) -> WebhookDelivery | None:
    return _pending(subscription_id).first()


def _head_is_due(subscription_id: str) -> bool:
    head = _head(subscription_id)
    return head is not None and (head.next_attempt_at is None or head.next_attempt_at <= timezone.now())


def subscription_drain(*, subscription_id: str) -> DrainResult:
    """Send the subscription's due deliveries, oldest event first, until one fails or none is due."""
    result = DrainResult()
    deadline = time.monotonic() + settings.KONGFLOW_WEBHOOK_DRAIN_BUDGET_SECONDS
    held = False
    while (lease := slot_claim(subscription_id=subscription_id)) is not None:
        held = True
        try:
            failed = _drain_claimed(subscription_id, result, deadline)
        finally:
            slot_release(subscription_id=subscription_id, lease=lease)
        # After a failure the head waits for its retry (the sweeper re-queues it). Otherwise look
        # again: a delivery committed while the lease was held found it taken.
        if failed or not _head_is_due(subscription_id):
            break
        if time.monotonic() > deadline:
            delivery_dispatch(subscription_id=subscription_id)  # continue in a fresh task
            break
    if held:
        _hand_off(subscription_id)
    return result


def _hand_off(subscription_id: str) -> None:
    """A slot was given back: queue the environment's longest-waiting due subscription, if any (one
    refused a slot), rather than leave it to the next sweep. A duplicate is harmless (leases)."""
    environment_id = WebhookSubscription.objects.filter(id=subscription_id).values("environment_id")
    waiting = (
        _due(timezone.now())
        .filter(environment_id__in=environment_id)
        .exclude(id=subscription_id)
        .values_list("id", flat=True)
        .first()
    )
    if waiting is not None:
        delivery_dispatch(subscription_id=waiting)


def _drain_claimed(subscription_id: str, result: DrainResult, deadline: float) -> bool:
    """Returns whether it stopped on a failed attempt."""
    subscription = WebhookSubscription.objects.select_related("environment__organization").get(id=subscription_id)
    while time.monotonic() <= deadline:
        batch = _pending(subscription_id)[:DRAIN_BATCH]
        if not batch:
            return False
        for delivery in batch:
            if time.monotonic() > deadline:
                return False
            if delivery.next_attempt_at is not None and delivery.next_attempt_at > timezone.now():
                return False
            if not _attempt(subscription, delivery, result):
                return True
    return False


def _body(delivery: WebhookDelivery) -> bytes:
    event = delivery.event
    payload = {"type": event.type, "timestamp": js_iso(event.occurred_at), "data": event.data}
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def _attempt(subscription: WebhookSubscription, delivery: WebhookDelivery, result: DrainResult) -> bool:
    """One POST of one delivery, stored with its outcome. Returns whether it was delivered."""
    body = _body(delivery)
    msg_id = delivery.event_id  # the same on every retry and resend: receivers deduplicate on it
    timestamp = int(time.time())
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(
            secrets_=signing_secrets(subscription), msg_id=msg_id, timestamp=timestamp, body=body
        ),
    }
    started_at = timezone.now()
    started = time.perf_counter()
    status_code: int | None = None
    preview = ""
    error = ""
    refused = False
    try:
        response = post_webhook(url=subscription.url, body=body, headers=headers, environment=subscription.environment)
        status_code = response.status_code
        preview = response.body[: PREVIEW_CHARS * 4].decode("utf-8", "replace")[:PREVIEW_CHARS]
    except ForbiddenAddress as exc:  # nothing was sent: a configuration error, not a receiver's failure
        refused, error = True, f"{exc.code}: {exc.message}. {exc.hint}"[:500]
    except ResponseTooLarge as exc:
        status_code, error = exc.status_code, "The response was larger than KONGFLOW_WEBHOOK_MAX_RESPONSE_BYTES"
    except EndpointApiError as exc:
        status_code, error = exc.status_code, exc.message[:500]
    duration_ms = round((time.perf_counter() - started) * 1000)
    ok = status_code is not None and 200 <= status_code < 300
    if not ok and not error:
        error = f"The receiver answered HTTP {status_code}"
    try:
        _store(
            subscription,
            delivery,
            ok=ok,
            started_at=started_at,
            status_code=status_code,
            duration_ms=duration_ms,
            preview=preview,
            error=error,
            refused=refused,
            result=result,
        )
    except IntegrityError:
        # The delivery (or its subscription) was deleted while it was being sent.
        logger.info("events.webhook.vanished", extra={"subscription_id": subscription.id, "event_id": msg_id})
        return False
    metrics.webhook_deliveries.labels("delivered" if ok else "failed").inc()
    logger.info(
        "events.webhook.attempt",
        extra={
            "subscription_id": subscription.id,
            "event_id": msg_id,
            "status_code": status_code,
            "duration_ms": duration_ms,
            "outcome": "delivered" if ok else "failed",
        },
    )
    return ok


def _store(
    subscription: WebhookSubscription,
    delivery: WebhookDelivery,
    *,
    ok: bool,
    started_at: datetime,
    status_code: int | None,
    duration_ms: int,
    preview: str,
    error: str,
    refused: bool,
    result: DrainResult,
) -> None:
    now = timezone.now()
    attempts = delivery.attempts + 1
    disable_reason: str | None = None
    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery=delivery,
            started_at=started_at,
            succeeded=ok,
            status_code=status_code,
            duration_ms=duration_ms,
            response_preview=preview,
            error=error,
        )
        fields = {"attempts": attempts, "last_attempt_at": now, "updated_at": now}
        if ok:
            fields.update(status=DeliveryStatus.DELIVERED, delivered_at=now, next_attempt_at=None)
            result.delivered += 1
            if subscription.failing_since is not None:  # only the lease holder writes it
                WebhookSubscription.objects.filter(id=subscription.id).update(failing_since=None)
                subscription.failing_since = None
        else:
            result.failed_attempts += 1
            if refused:
                # Retrying cannot help (an index of a refused address is not retried either): the
                # subscription is disabled below; the delivery stays PENDING and due for re-enabling.
                fields.update(next_attempt_at=now)
            elif (delay := retry_delay(attempts)) is None:
                fields.update(status=DeliveryStatus.FAILED, next_attempt_at=None)
                result.gave_up += 1
            else:
                fields.update(next_attempt_at=now + timedelta(seconds=delay))
            if subscription.failing_since is None:
                subscription.failing_since = now
                WebhookSubscription.objects.filter(id=subscription.id).update(failing_since=now)
            failing_for = (now - subscription.failing_since).total_seconds()
            if refused:
                disable_reason = error
            elif status_code == 410:
                disable_reason = "The receiver answered 410 Gone"
            elif failing_for >= settings.KONGFLOW_WEBHOOK_DISABLE_AFTER_SECONDS:
                disable_reason = f"Every delivery failed for {round(failing_for / 3600, 1)} hours"
        # Only while it is still PENDING: a concurrent Resend or delete wins.
        WebhookDelivery.objects.filter(
            id=delivery.id, status=DeliveryStatus.PENDING, attempts=delivery.attempts
        ).update(**fields)
    if disable_reason and subscription_disable(subscription_id=subscription.id, reason=disable_reason):
        subscription.is_active = False
        logger.warning("events.webhook.disabled", extra={"subscription_id": subscription.id})


def _due(now: datetime) -> QuerySet[WebhookSubscription]:
    """Active subscriptions that no worker holds (a dead worker's lease runs out) and whose oldest
    pending delivery is due, the longest waiting first."""
    head_at = (
        WebhookDelivery.objects.filter(subscription_id=OuterRef("pk"), status=DeliveryStatus.PENDING)
        .order_by("event__sequence")
        .values("next_attempt_at")[:1]
    )
    return (
        WebhookSubscription.objects.filter(is_active=True)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .annotate(head_at=Subquery(head_at))
        .filter(head_at__lte=now)
        .order_by("head_at")
    )


def webhook_deliveries_sweep(*, limit: int = 500) -> list[str]:
    """Queue a drain for every due subscription (`_due`), longest waiting first, except those whose
    environment or URL holds all its slots right now (their drains would be refused)."""
    now = timezone.now()
    full_environments, full_urls = saturated(now)
    due = list(
        _due(now)
        .exclude(environment_id__in=full_environments)
        .exclude(url__in=full_urls)
        .values_list("id", flat=True)[:limit]
    )
    for subscription_id in due:
        delivery_dispatch(subscription_id=subscription_id)
    return due


def webhook_deliveries_resend(*, delivery_ids: list[str]) -> int:
    """Send again (operators' Resend): back to PENDING, due now, with a fresh retry schedule.
    The event id, hence `webhook-id`, stays the same."""
    now = timezone.now()
    with transaction.atomic():
        count = WebhookDelivery.objects.filter(id__in=delivery_ids).update(
            status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now, delivered_at=None, updated_at=now
        )
        subscription_ids = set(
            WebhookDelivery.objects.filter(id__in=delivery_ids).values_list("subscription_id", flat=True)
        )
        for subscription_id in sorted(subscription_ids):
            transaction.on_commit(partial(delivery_dispatch, subscription_id=subscription_id))
    return count
