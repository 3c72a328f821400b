"""Requesting an index: create a PENDING run or join the one already PENDING; wait for it."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from functools import partial
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from endpoints import metrics
from endpoints.models import Endpoint, EndpointIndex, IndexStatus
from endpoints.utils import js_iso

from .dispatch import index_dispatch
from .retry import max_attempts_for

MAX_COALESCED_ENTRIES = 50


def endpoint_index_request(
    *,
    endpoint: Endpoint,
    source: str,
    reason: str | None = None,
    source_data: Any = None,
    delay: float = 0.0,
    force: bool = False,
) -> EndpointIndex:
    """Join the endpoint's PENDING run, or create one.

    Joining first is one UPDATE (no failed INSERT, savepoint or `SELECT … FOR UPDATE`), so a storm of
    hooks for one endpoint costs one short row update each. A new run is dispatched to the worker
    after the surrounding transaction commits.
    """
    now = timezone.now()
    entry = {"source": source, "reason": reason, "at": js_iso(now)}
    max_attempts = max_attempts_for(endpoint.environment)
    for _ in range(5):
        joined = _join_pending(endpoint=endpoint, entry=entry, force=force)
        if joined is not None:
            metrics.endpoint_index_requests.labels(source, "joined").inc()
            return joined
        try:
            with transaction.atomic():
                index = EndpointIndex.objects.create(
                    endpoint=endpoint,
                    source=source,
                    reason=reason,
                    source_data=source_data,
                    force=force,
                    max_attempts=max_attempts,
                    run_at=now + timedelta(seconds=delay),
                    coalesced=[entry],
                )
                transaction.on_commit(partial(index_dispatch, index_id=index.id, countdown=delay or None))
        except IntegrityError:
            continue  # another request created the PENDING run meanwhile: join it
        metrics.endpoint_index_requests.labels(source, "created").inc()
        return index
    raise RuntimeError("could not create or join a pending index")


_TABLE = EndpointIndex._meta.db_table
_COLUMNS = [str(field.column) for field in EndpointIndex._meta.concrete_fields]
# One statement: count the request, remember its entry (bounded) and OR its force into the run.
_JOIN_SQL = (
    f"UPDATE {_TABLE} SET requests = requests + 1, "  # noqa: S608
    "coalesced = CASE WHEN jsonb_array_length(coalesced) < %s THEN coalesced || %s::jsonb ELSE coalesced END, "
    "force = force OR %s, updated_at = %s "
    "{relaxed}WHERE endpoint_id = %s AND status = %s "
    f"RETURNING {', '.join(_COLUMNS)}"
)
# For a join in its own (autocommit) transaction: its commit does not wait for the WAL flush, so the
# row lock that serializes joins of one endpoint is held for microseconds, not for an fsync. Losing
# such a join in a database crash loses only the request counter and its `coalesced` entry: the
# PENDING run it joined was committed durably before, and still runs. Forced requests keep the wait.
_RELAXED = "FROM (SELECT set_config('synchronous_commit', 'off', true)) AS relaxed "


def _join_pending(*, endpoint: Endpoint, entry: dict[str, Any], force: bool) -> EndpointIndex | None:
    """Join the PENDING run with one `UPDATE … RETURNING`; None when there is none."""
    if connection.vendor != "postgresql":
        return _join_pending_simple(endpoint=endpoint, entry=entry, force=force)
    relaxed = not force and not connection.in_atomic_block
    sql = _JOIN_SQL.replace("{relaxed}", _RELAXED if relaxed else "")
    params: list[Any] = [MAX_COALESCED_ENTRIES, json.dumps([entry]), force, timezone.now(), endpoint.id]
    params.append(IndexStatus.PENDING)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    fields = EndpointIndex._meta.concrete_fields
    values = [
        field.from_db_value(value, None, connection) if hasattr(field, "from_db_value") else value
        for field, value in zip(fields, row, strict=True)
    ]
    return EndpointIndex.from_db(connection.alias, [field.attname for field in fields], values)


def _join_pending_simple(*, endpoint: Endpoint, entry: dict[str, Any], force: bool) -> EndpointIndex | None:
    """SQLite (one writer at a time): read, then update in one transaction."""
    with transaction.atomic():
        index = EndpointIndex.objects.select_for_update().filter(endpoint=endpoint, status=IndexStatus.PENDING).first()
        if index is None:
            return None
        index.requests += 1
        if len(index.coalesced) < MAX_COALESCED_ENTRIES:
            index.coalesced.append(entry)
        index.force = index.force or force
        index.save(update_fields=["requests", "coalesced", "force", "updated_at"])
        return index


def endpoint_index_wait(*, index_id: str, timeout: float, interval: float = 0.1) -> EndpointIndex:
    """Poll the run until it is final or `timeout` seconds passed; returns its latest state."""
    deadline = time.monotonic() + timeout
    while True:
        index = EndpointIndex.objects.get(id=index_id)
        if index.is_final or time.monotonic() >= deadline:
            return index
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
        interval = min(interval * 1.5, 0.5)
