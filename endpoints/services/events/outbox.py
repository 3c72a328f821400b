"""Appending events to the outbox, inside the caller's transaction, and fanning them out to deliveries."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from endpoints.db import server_binding_cursor
from endpoints.ids import _base36, new_id
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
    """Reserve `count` sequences; returns the first.

    One upsert on the environment's counter row: it takes the row's lock until the surrounding
    transaction ends, so a concurrent allocation in the same environment waits for it to commit
    (then continues after it) or roll back (then reuses its numbers). That is what keeps committed
    sequences gap-free and visible in order to a consumer paging with `after=`.
    """
    table = connection.ops.quote_name(EventSequence._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (environment_id, last_sequence) VALUES (%s, %s) "  # noqa: S608 - quoted table name
            f"ON CONFLICT (environment_id) DO UPDATE SET last_sequence = {table}.last_sequence + %s "
            "RETURNING last_sequence",
            [environment_id, count, count],
        )
        last = int(cursor.fetchone()[0])
    return last - count + 1


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
    payloads = [{"sequence": first + offset, "environment": env, **event.data} for offset, event in enumerate(events)]
    ids = _insert(environment.id, first, events, payloads, now)
    rows = [
        _event(ids[offset], environment.id, first + offset, event.type, EVENT_TYPES[event.type], payload, now)
        for offset, (event, payload) in enumerate(zip(events, payloads, strict=True))
    ]
    _fan_out(environment.id, rows, now)
    return rows


def _event(*values: Any) -> RegistryEvent:
    """Field values in the model's order: positional construction is its fast path."""
    return RegistryEvent(*values)  # type: ignore[misc]  # django-stubs types keyword construction only


def _insert(
    environment_id: str, first: int, events: list[NewEvent], payloads: list[dict[str, Any]], now: datetime
) -> list[str]:
    """One INSERT for all events; returns their ids in order.

    On PostgreSQL the events travel as one JSON array (one C-speed `json.dumps`, payloads embedded
    as they are) and ids are made by the statement ("evt_c", 8 base36 characters of time, 16 random
    hex): an index of hundreds of jobs appends hundreds of events."""
    if connection.vendor != "postgresql":
        ids = ["evt_" + new_id() for _ in events]
        RegistryEvent.objects.bulk_create(
            _event(ids[n], environment_id, first + n, event.type, EVENT_TYPES[event.type], payloads[n], now)
            for n, event in enumerate(events)
        )
        return ids
    table = connection.ops.quote_name(RegistryEvent._meta.db_table)
    document = json.dumps(
        [
            {"sequence": first + n, "type": event.type, "version": EVENT_TYPES[event.type], "data": payloads[n]}
            for n, event in enumerate(events)
        ]
    )
    prefix = "evt_c" + _base36(int(now.timestamp() * 1000), 8)
    with server_binding_cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (id, environment_id, sequence, type, version, data, occurred_at) "  # noqa: S608
            "SELECT %s || substr(replace(gen_random_uuid()::text, '-', ''), 1, 16), %s, u.sequence, u.type, "
            "u.version, u.data, %s FROM json_to_recordset(%s::json) AS u(sequence int8, type text, version int4, data "
            "jsonb) ORDER BY u.sequence RETURNING id, sequence",
            [prefix, environment_id, now, document],
        )
        by_sequence = dict((sequence, row_id) for row_id, sequence in cursor.fetchall())
    return [by_sequence[first + n] for n in range(len(events))]


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
