"""Requesting an index: create a PENDING run or join the one already PENDING; wait for it."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from endpoints import metrics
from endpoints.models import Endpoint, EndpointIndex, IndexSource, IndexStatus
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
    """Create a PENDING run for the endpoint, or join the one already PENDING.

    A new run is dispatched to the worker after the surrounding transaction commits.
    """
    now = timezone.now()
    entry = {"source": source, "reason": reason, "at": js_iso(now)}
    max_attempts = max_attempts_for(endpoint.environment)
    for _ in range(5):
        with transaction.atomic():
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
            except IntegrityError:
                run_at = now + timedelta(seconds=delay)
                # A new outside reason to index (deploy hook, API, admin) restarts a run in backoff;
                # the recurring index (INTERNAL) does not, or a failing endpoint would never end.
                restart = source != IndexSource.INTERNAL
                joined = _join_pending(endpoint=endpoint, entry=entry, force=force, run_at=run_at, restart=restart)
                if joined is None:
                    continue  # the PENDING run was claimed meanwhile: create a new one
                metrics.endpoint_index_requests.labels(source, "joined").inc()
                return joined
            transaction.on_commit(partial(index_dispatch, index_id=index.id))
            metrics.endpoint_index_requests.labels(source, "created").inc()
            return index
    raise RuntimeError("could not create or join a pending index")


def _join_pending(
    *, endpoint: Endpoint, entry: dict[str, Any], force: bool, run_at: datetime, restart: bool
) -> EndpointIndex | None:
    index = EndpointIndex.objects.select_for_update().filter(endpoint=endpoint, status=IndexStatus.PENDING).first()
    if index is None:
        return None
    index.requests += 1
    if len(index.coalesced) < MAX_COALESCED_ENTRIES:
        index.coalesced.append(entry)
    index.force = index.force or force
    fields = ["requests", "coalesced", "force", "updated_at"]
    if restart and index.attempts > 0 and index.run_at is not None and index.run_at > run_at:
        # Joining a retry that waits out its backoff: the new request is a fresh reason to index
        # (a deploy), so the run starts when the request asked, with a fresh attempt budget
        # (`attempts` itself only grows: it fences the messages). Its message in flight (eta = the
        # old run_at) becomes stale once the new one claims the attempt; the new one is sent after
        # commit. (Issue 10 turns this function into one UPDATE ... RETURNING: keep this branch.)
        index.run_at = run_at
        index.max_attempts = max(index.max_attempts, index.attempts + max_attempts_for(endpoint.environment))
        index.dispatched_at = None
        fields += ["run_at", "max_attempts", "dispatched_at"]
        transaction.on_commit(partial(index_dispatch, index_id=index.id))
    index.save(update_fields=fields)
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
