"""Requesting an index: create a PENDING run or join the one already PENDING; wait for it."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from functools import cache, partial
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from endpoints import metrics
from endpoints.db import ModelColumns, server_binding_cursor
from endpoints.models import Endpoint, EndpointHealth, EndpointIndex, IndexSource, IndexStatus
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
    entry = _entry(source, reason, now)
    max_attempts = max_attempts_for(endpoint.environment)
    for _ in range(5):
        run_at = now + timedelta(seconds=delay)
        # A new outside reason to index (deploy hook, API, admin) restarts a run waiting out a retry
        # backoff; the recurring index (INTERNAL) does not, or a failing endpoint would never end.
        restart = source != IndexSource.INTERNAL
        joined = _join_pending(
            endpoint=endpoint, entry=entry, force=force, run_at=run_at, restart=restart, budget=max_attempts
        )
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
                    run_at=run_at,
                    coalesced=[entry],
                )
                transaction.on_commit(partial(index_dispatch, index_id=index.id))
        except IntegrityError:
            continue  # another request created the PENDING run meanwhile: join it
        metrics.endpoint_index_requests.labels(source, "created").inc()
        return index
    raise RuntimeError("could not create or join a pending index")


_TABLE = EndpointIndex._meta.db_table
_COLUMNS = [str(field.column) for field in EndpointIndex._meta.concrete_fields]
# The PENDING run a join updates (`waiting`), and whether the join restarts it: by the endpoint's
# id; or, for a deploy hook's one-statement join, by the endpoint's (environment, slug) and hook
# identifier, never a run the join would restart (that takes the full path: it needs the endpoint).
_BY_ENDPOINT = (
    f"SELECT id, (%(restart)s AND attempts > 0 AND run_at > %(run_at)s) AS restarted "  # noqa: S608
    f"FROM {_TABLE} WHERE endpoint_id = %(endpoint_id)s AND status = %(pending)s FOR UPDATE"
)
_BY_HOOK = (
    f"SELECT r.id, false AS restarted FROM {_TABLE} r JOIN {Endpoint._meta.db_table} e ON e.id = r.endpoint_id "  # noqa: S608
    "WHERE e.environment_id = %(environment_id)s AND e.slug = %(slug)s "
    "AND sha256(convert_to(e.indexing_hook_identifier, 'UTF8')) = sha256(convert_to(%(hook)s, 'UTF8')) "
    f"AND e.health <> '{EndpointHealth.DISABLED.value}' "
    "AND r.status = %(pending)s AND NOT (r.attempts > 0 AND r.run_at > %(run_at)s) FOR UPDATE OF r"
)
# One statement: count the request, remember its entry (bounded), OR its force into the run, and
# restart a run waiting out a retry backoff. Joining a retry in backoff with a fresh reason to index
# (a deploy) makes the run start when the request asked, with a fresh attempt budget (`attempts`
# itself only grows: it fences the messages); its message in flight (eta = the old run_at) becomes
# a no-op once the new one claims the attempt, and the new one is sent after commit.
# `SET` expressions and the `waiting` CTE see the row as it was before the update.
_JOIN_SQL = (
    "WITH waiting AS ({waiting}) "  # noqa: S608 - table and column names are model metadata
    f"UPDATE {_TABLE} AS run SET requests = run.requests + 1, "
    "coalesced = CASE WHEN jsonb_array_length(run.coalesced) < %(max_entries)s "
    "THEN run.coalesced || %(entry)s::jsonb ELSE run.coalesced END, "
    "force = run.force OR %(force)s, updated_at = %(now)s, "
    "run_at = CASE WHEN waiting.restarted THEN %(run_at)s ELSE run.run_at END, "
    "max_attempts = CASE WHEN waiting.restarted THEN GREATEST(run.max_attempts, run.attempts + %(budget)s) "
    "ELSE run.max_attempts END, "
    "dispatched_at = CASE WHEN waiting.restarted THEN NULL ELSE run.dispatched_at END "
    "FROM waiting{relaxed} WHERE run.id = waiting.id "
    f"RETURNING {', '.join('run.' + column for column in _COLUMNS)}, waiting.restarted"
)
# For a join in its own (autocommit) transaction: its commit does not wait for the WAL flush, so the
# row lock that serializes joins of one endpoint is held for microseconds, not for an fsync. Losing
# such a join in a database crash loses only the request counter and its `coalesced` entry: the
# PENDING run it joined was committed durably before, and still runs. Forced requests and restarts
# (the restart branch is decided in the statement, so those keep the wait only when forced) are rare.
_RELAXED = ", (SELECT set_config('synchronous_commit', 'off', true)) AS relaxed"


@cache
def _returned_columns() -> ModelColumns:
    """What the join's `RETURNING` reads back (`_COLUMNS`), with the ORM's converters."""
    return ModelColumns.of(EndpointIndex._meta.concrete_fields)


def _join_pending(
    *, endpoint: Endpoint, entry: dict[str, Any], force: bool, run_at: datetime, restart: bool, budget: int
) -> EndpointIndex | None:
    """Join the PENDING run with one `UPDATE … RETURNING`; None when there is none."""
    params: dict[str, Any] = {"restart": restart, "endpoint_id": endpoint.id, "budget": budget}
    return _join(_BY_ENDPOINT, params, entry=entry, force=force, run_at=run_at)


def endpoint_index_join_by_hook(
    *, environment_id: str, slug: str, hook_identifier: str, reason: str | None, delay: float
) -> EndpointIndex | None:
    """A deploy hook's common case in one statement: join the PENDING run of the endpoint that
    (environment, slug) names if `hook_identifier` is its hook identifier. None when there is no
    such run, when the identifier does not match and when the run waits out a retry backoff (a join
    restarts it): the caller then takes the full path (lookup, check, join or create).

    The identifiers are compared as SHA-256 digests inside the statement: how long the comparison
    takes depends on the digests, not on how much of the identifier a caller guessed."""
    now = timezone.now()
    entry = _entry(IndexSource.HOOK, reason, now)
    # `budget` only sizes a restart, which this join never makes (`_BY_HOOK`).
    params: dict[str, Any] = {"environment_id": environment_id, "slug": slug, "hook": hook_identifier, "budget": 0}
    joined = _join(_BY_HOOK, params, entry=entry, force=False, run_at=now + timedelta(seconds=delay))
    if joined is not None:
        metrics.endpoint_index_requests.labels(IndexSource.HOOK, "joined").inc()
    return joined


def _entry(source: str, reason: str | None, now: datetime) -> dict[str, Any]:
    """What a request leaves in its run's `coalesced` list."""
    return {"source": source, "reason": reason, "at": js_iso(now)}


@cache
def _join_sql(waiting: str, relaxed: bool) -> str:
    return _JOIN_SQL.replace("{waiting}", waiting).replace("{relaxed}", _RELAXED if relaxed else "")


def _join(
    waiting: str, params: dict[str, Any], *, entry: dict[str, Any], force: bool, run_at: datetime
) -> EndpointIndex | None:
    """The join statement for the run `waiting` selects; None when it selects none."""
    relaxed = not force and not connection.in_atomic_block
    params = {
        **params,
        "run_at": run_at,
        "pending": IndexStatus.PENDING,
        "max_entries": MAX_COALESCED_ENTRIES,
        "entry": json.dumps([entry]),
        "force": force,
        "now": timezone.now(),
    }
    # Server-side binding: the statement is the same for every join, so psycopg prepares it on
    # the connection after a few executions (no parse and plan per hook in a storm).
    with server_binding_cursor() as cursor:
        cursor.execute(_join_sql(waiting, relaxed), params)
        row = cursor.fetchone()
    if row is None:
        return None
    *columns, restarted = row
    index = _returned_columns().instance(EndpointIndex, columns)
    if restarted:
        _dispatch_after_commit(index.id)
    return index


def _dispatch_after_commit(index_id: str) -> None:
    if connection.in_atomic_block:
        transaction.on_commit(partial(index_dispatch, index_id=index_id))
    else:
        index_dispatch(index_id=index_id)


def endpoint_index_wait(*, index_id: str, timeout: float, interval: float = 0.1) -> EndpointIndex:
    """Poll the run until it is final or `timeout` seconds passed; returns its latest state."""
    deadline = time.monotonic() + timeout
    while True:
        index = EndpointIndex.objects.get(id=index_id)
        if index.is_final or time.monotonic() >= deadline:
            return index
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
        interval = min(interval * 1.5, 0.5)
