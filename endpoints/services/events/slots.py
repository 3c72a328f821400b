"""Webhook slots: fairness between tenants inside the webhooks queue.

A worker drains a subscription under its lease, one delivery in flight at a time, so a leased
subscription is one delivery slot in use. An environment may hold at most
KONGFLOW_WEBHOOK_MAX_IN_FLIGHT_PER_ENVIRONMENT slots at once, a receiver URL (whichever environments
its subscriptions belong to) at most KONGFLOW_WEBHOOK_MAX_IN_FLIGHT_PER_URL: one tenant's backlog
at a slow receiver then holds a few of the webhooks worker's slots, never all of them.

The count and the claim run under transaction-scoped advisory locks of the environment and of the
URL, always taken in that order (no deadlock), so two workers on any hosts cannot both take the
last slot; the lease is the record, so a dead worker's slot comes back when its lease runs out.
A drain refused a slot changes nothing: its deliveries stay PENDING and due, and the sweeper (or a
drain of the same environment that gives its slot back) queues it again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from endpoints import metrics
from endpoints.models import WebhookSubscription

logger = logging.getLogger(__name__)


def in_flight(now: datetime) -> QuerySet[WebhookSubscription]:
    """The subscriptions being drained (their slots), read through the partial index of leases."""
    return WebhookSubscription.objects.filter(lease_until__gte=now)


def saturated(now: datetime) -> tuple[QuerySet[Any, Any], QuerySet[Any, Any]]:
    """Subqueries of the environments and of the URLs that hold all their slots (the sweeper skips them)."""
    busy = in_flight(now).order_by()
    environments = (
        busy.values("environment_id")
        .annotate(n=Count("id"))
        .filter(n__gte=settings.KONGFLOW_WEBHOOK_MAX_IN_FLIGHT_PER_ENVIRONMENT)
        .values("environment_id")
    )
    urls = busy.values("url").annotate(n=Count("id")).filter(n__gte=settings.KONGFLOW_WEBHOOK_MAX_IN_FLIGHT_PER_URL)
    return environments, urls.values("url")


def _lock(*keys: str) -> None:
    """Transaction-scoped advisory locks, in the order given."""
    with connection.cursor() as cursor:
        for key in keys:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])


def slot_claim(*, subscription_id: str) -> datetime | None:
    """Take the subscription's lease, and with it a slot of its environment and of its URL.

    Returns the lease, or None when another worker holds it, it is inactive, or no slot is free
    (counted as `kongflow_webhook_slot_refusals_total`)."""
    target = WebhookSubscription.objects.filter(id=subscription_id, is_active=True).values("environment_id", "url")
    row = target.first()
    if row is None:
        return None
    with transaction.atomic():
        _lock(f"kongflow.webhook-slots.environment:{row['environment_id']}", f"kongflow.webhook-slots.url:{row['url']}")
        now = timezone.now()
        held = (
            in_flight(now)
            .exclude(id=subscription_id)
            .aggregate(
                environment=Count("id", filter=Q(environment_id=row["environment_id"])),
                url=Count("id", filter=Q(url=row["url"])),
            )
        )
        full = (
            "environment"
            if held["environment"] >= settings.KONGFLOW_WEBHOOK_MAX_IN_FLIGHT_PER_ENVIRONMENT
            else "url"
            if held["url"] >= settings.KONGFLOW_WEBHOOK_MAX_IN_FLIGHT_PER_URL
            else None
        )
        if full is not None:
            metrics.webhook_slot_refusals.labels(full).inc()
            logger.info(
                "events.webhook.no_slot",
                extra={"subscription_id": subscription_id, "environment_id": row["environment_id"], "full": full},
            )
            return None
        lease = now + timedelta(seconds=settings.KONGFLOW_WEBHOOK_LEASE_SECONDS)
        claimed = (
            WebhookSubscription.objects.filter(id=subscription_id, is_active=True)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
            .update(lease_until=lease)
        )
    return lease if claimed == 1 else None


def slot_release(*, subscription_id: str, lease: datetime) -> None:
    """Give the lease (the slot) back, unless it ran out and another worker holds it now."""
    WebhookSubscription.objects.filter(id=subscription_id, lease_until=lease).update(lease_until=None)
