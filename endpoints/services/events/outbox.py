"""Appending events to the outbox, inside the caller's transaction, and fanning them out to deliveries."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from endpoints.ids import new_id
from endpoints.models import (
    EventSequence,
    RegistryEvent,
    RuntimeEnvironment,
    WebhookDelivery,
    WebhookSubscription,
)

from .dispatch import delivery_dispatch
from .types import EVENT_TYPES

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class NewEvent:
    type: str
    data: dict[str, Any]


class OutboxOutsideTransaction(RuntimeError):
    """Events must be written in the transaction of the change they describe."""


def environment_ref(environment: RuntimeEnvironment) -> dict[str, Any]:
    return {
        "id": environment.id,
        "slug": environment.slug,
        "type": environment.type,
        "projectId": environment.project_id,
        "organizationId": environment.organization_id,
    }


def _allocate(environment_id: str, count: int) -> int:
    """Reserve `count` sequences; returns the first. Locks the environment's counter row until the
    surrounding transaction ends, which is what keeps committed sequences gap-free and in order."""
    counter = EventSequence.objects.select_for_update().filter(environment_id=environment_id).first()
    if counter is None:
        EventSequence.objects.bulk_create([EventSequence(environment_id=environment_id)], ignore_conflicts=True)
        counter = EventSequence.objects.select_for_update().get(environment_id=environment_id)
    first = counter.last_sequence + 1
    EventSequence.objects.filter(environment_id=environment_id).update(last_sequence=counter.last_sequence + count)
    return first


def events_record(*, environment: RuntimeEnvironment, events: list[NewEvent]) -> list[RegistryEvent]:
    """Append events to the outbox in the caller's (open) transaction; queue their delivery on commit.

    Record as late as practical in the transaction: the environment's counter stays locked until
    it commits, serialising the event-writing transactions of one environment.
    """
    if not events:
        return []
    if not transaction.get_connection().in_atomic_block:
        raise OutboxOutsideTransaction("events_record must run inside the change's transaction")
    for event in events:
        if event.type not in EVENT_TYPES:
            raise ValueError(f"Unknown event type {event.type!r}")
    now = timezone.now()
    first = _allocate(environment.id, len(events))
    env = environment_ref(environment)
    rows = [
        RegistryEvent(
            id="evt_" + new_id(),
            environment_id=environment.id,
            sequence=first + offset,
            type=event.type,
            version=EVENT_TYPES[event.type],
            data={"sequence": first + offset, "environment": env, **event.data},
            occurred_at=now,
        )
        for offset, event in enumerate(events)
    ]
    RegistryEvent.objects.bulk_create(rows)
    _fan_out(environment.id, rows, now)
    return rows


def _fan_out(environment_id: str, events: list[RegistryEvent], now: Any) -> None:
    subscriptions = list(
        WebhookSubscription.objects.filter(environment_id=environment_id, is_active=True).only("id", "events")
    )
    deliveries = [
        WebhookDelivery(subscription_id=sub.id, event_id=event.id, next_attempt_at=now)
        for event in events
        for sub in subscriptions
        if sub.wants(event.type)
    ]
    if not deliveries:
        return
    WebhookDelivery.objects.bulk_create(deliveries)
    for subscription_id in sorted({d.subscription_id for d in deliveries}):
        transaction.on_commit(partial(delivery_dispatch, subscription_id=subscription_id))
