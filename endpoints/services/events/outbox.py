"""Appending events to the outbox, inside the caller's transaction, and fanning them out to deliveries."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache, partial
from typing import Any, overload

from django.db import connection, transaction
from django.utils import timezone

from endpoints import jsoncodec
from endpoints.db import server_binding_cursor
from endpoints.ids import SQL_RANDOM_HEX, new_ids, time_prefix
from endpoints.models import (
    DeliveryStatus,
    EventSequence,
    RegistryEvent,
    RuntimeEnvironment,
    WebhookDelivery,
    WebhookSubscription,
)

from .dispatch import delivery_dispatch
from .types import ALERTING, EVENT_TYPES

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


class RecordedEvents(Sequence[RegistryEvent]):
    """The events recorded, as model instances built only when read: an index appends hundreds of
    events (thousands for thousands of jobs) and reads none of them back, on its critical path."""

    def __init__(self, build: Callable[[], list[RegistryEvent]], count: int) -> None:
        self._build: Callable[[], list[RegistryEvent]] | None = build
        self._rows: list[RegistryEvent] = []
        self._count = count

    def _all(self) -> list[RegistryEvent]:
        if self._build is not None:
            self._rows, self._build = self._build(), None
        return self._rows

    @overload
    def __getitem__(self, index: int) -> RegistryEvent: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[RegistryEvent]: ...
    def __getitem__(self, index: int | slice) -> RegistryEvent | Sequence[RegistryEvent]:
        return self._all()[index]

    def __len__(self) -> int:
        return self._count


def events_record(*, environment: RuntimeEnvironment, events: list[NewEvent]) -> Sequence[RegistryEvent]:
    """Append events to the outbox in the caller's (open) transaction; queue their delivery on commit.

    Record as late as practical in the transaction: the environment's counter stays locked until
    it commits, serialising the event-writing transactions of one environment. Returns the events
    in order (built when read).
    """
    if not events:
        return []
    if not transaction.get_connection().in_atomic_block:
        raise OutboxOutsideTransaction("events_record must run inside the change's transaction")
    for event in events:
        if event.type not in EVENT_TYPES:
            raise ValueError(f"Unknown event type {event.type!r}")
    now = timezone.now()
    env = environment_ref(environment)
    first, ids, subscription_ids = _record(environment.id, events, env, now)

    def build() -> list[RegistryEvent]:
        return [
            _event(
                ids[offset],
                environment.id,
                first + offset,
                event.type,
                EVENT_TYPES[event.type],
                {"sequence": first + offset, "environment": env, **event.data},
                now,
            )
            for offset, event in enumerate(events)
        ]

    recorded = RecordedEvents(build, len(events))
    if any(event.type in ALERTING for event in events):
        from endpoints.services.alerts import alert_notifications_record  # alerts import this package

        batch = [(event_id, event.type, event.data) for event_id, event in zip(ids, events, strict=True)]
        alert_notifications_record(environment=environment, batch=batch)
    for subscription_id in subscription_ids:
        transaction.on_commit(partial(delivery_dispatch, subscription_id=subscription_id))
    return recorded


def _event(*values: Any) -> RegistryEvent:
    """Field values in the model's order: positional construction is its fast path."""
    return RegistryEvent(*values)  # type: ignore[misc]  # django-stubs types keyword construction only


@cache
def _record_sql() -> str:
    q = connection.ops.quote_name
    sequences, events = q(EventSequence._meta.db_table), q(RegistryEvent._meta.db_table)
    deliveries, subscriptions = q(WebhookDelivery._meta.db_table), q(WebhookSubscription._meta.db_table)
    # Table names are quoted model metadata; every value is a parameter.
    return (
        f"WITH seq AS (INSERT INTO {sequences} (environment_id, last_sequence) VALUES (%(env)s, %(count)s) "  # noqa: S608
        f"ON CONFLICT (environment_id) DO UPDATE SET last_sequence = {sequences}.last_sequence + %(count)s "
        "RETURNING last_sequence - %(count)s AS base), "
        f"ev AS (INSERT INTO {events} (id, environment_id, sequence, type, version, data, occurred_at) "
        "SELECT u.id, %(env)s, seq.base + u.n, u.type, u.version, "
        "jsonb_build_object('sequence', seq.base + u.n, 'environment', %(environment)s::jsonb) || u.data, %(now)s "
        "FROM seq, jsonb_to_recordset(%(events)s::jsonb) AS u(n int8, id text, type text, version int4, data jsonb) "
        "ORDER BY u.n RETURNING id, sequence, type), "
        f"fan AS (INSERT INTO {deliveries} (id, subscription_id, event_id, status, attempts, next_attempt_at, "
        "created_at, updated_at) "
        f"SELECT %(delivery_prefix)s || {SQL_RANDOM_HEX}, s.id, ev.id, %(pending)s, 0, %(now)s, %(now)s, %(now)s "
        f"FROM ev JOIN {subscriptions} s ON s.environment_id = %(env)s AND s.is_active "
        "AND (s.events ? ev.type OR s.events ? '*') ORDER BY s.id, ev.sequence RETURNING subscription_id) "
        "SELECT seq.base + 1, NULL FROM seq UNION ALL SELECT NULL, d.subscription_id "
        "FROM (SELECT DISTINCT subscription_id FROM fan) d"
    )


def _record(
    environment_id: str, events: list[NewEvent], env: dict[str, Any], now: datetime
) -> tuple[int, list[str], list[str]]:
    """Allocate the sequences, insert the events and their deliveries: one statement.

    The sequences come from one upsert on the environment's counter row: it takes the row's lock
    until the surrounding transaction ends, so a concurrent allocation in the same environment waits
    for it to commit (then continues after it) or roll back (then reuses its numbers). That is what
    keeps committed sequences gap-free and visible in order to a consumer paging with `after=`.

    The events travel as one JSON array (one orjson encoding, payloads embedded as they are; the
    environment, the same in each, is added by the statement) with their ids, made here ("evt_c",
    8 base36 characters of time, 16 random hex; random parts made by the statement cost more).
    Only the first sequence and the subscriptions that got deliveries (sorted) come back: an index
    of hundreds of jobs appends hundreds of events. Returns those and the event ids in order."""
    ids = new_ids(len(events), prefix="evt_", seconds=now.timestamp())
    document = jsoncodec.dumps(
        [
            {"n": n, "id": event_id, "type": event.type, "version": EVENT_TYPES[event.type], "data": event.data}
            for n, (event_id, event) in enumerate(zip(ids, events, strict=True), start=1)
        ]
    )
    params: dict[str, Any] = {
        "env": environment_id,
        "count": len(events),
        "delivery_prefix": time_prefix(now.timestamp()),
        "now": now,
        "events": document,
        "environment": jsoncodec.dumps(env),
        "pending": DeliveryStatus.PENDING.value,
    }
    first: int | None = None
    subscription_ids: list[str] = []
    with server_binding_cursor() as cursor:
        cursor.execute(_record_sql(), params)
        for sequence, subscription_id in cursor.fetchall():
            if subscription_id is None:
                first = int(sequence)
            else:
                subscription_ids.append(subscription_id)
    assert first is not None  # the counter row is always returned
    return first, ids, sorted(subscription_ids)
