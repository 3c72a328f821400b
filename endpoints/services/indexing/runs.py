"""Running one index: claim it, fetch and apply the document, finish it or schedule its retry."""

from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime, timedelta
from functools import partial
from typing import Any, cast

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from endpointapi import IndexUnchanged
from endpoints import metrics
from endpoints.index_errors import index_error
from endpoints.models import EndpointIndex, IndexStatus
from endpoints.selectors import endpoint_index_for_run
from endpoints.services.diff import document_diff, document_hash
from endpoints.services.events.recording import record_index_failed, record_index_succeeded, record_index_unchanged
from endpoints.services.health import endpoint_health_record
from endpoints.services.registry import registry_apply, registry_plan

from .dispatch import dispatch_waiting, index_dispatch
from .failures import Fenced, IndexFailure
from .fetch import fetch_index, fetch_index_unless, reject_unstorable, store_url, store_versions
from .lease import Heartbeat, worker_identity
from .memory import cyclic_gc_paused
from .retry import retry_delay
from .statements import index_claim, index_success_store
from .unchanged import empty_diff, same_body_candidate, unchanged_since

logger = logging.getLogger(__name__)

# Retried by the task (backoff), never recorded as the endpoint's failure: the database is not
# the endpoint's fault, and the attempt is resumed, not spent (also: deadlocks, "too many clients").
DATABASE_ERRORS = (OperationalError, InterfaceError)
# Below this, an early message is just the dispatcher's and the worker's clocks being apart.
EARLY_SLACK_SECONDS = 0.5


def endpoint_index_run(*, index_id: str, attempt: int | None = None, lease_owner: str | None = None) -> None:
    """Claim and perform one run, for the attempt its message was sent for.

    A message for another attempt, a duplicate, or one for a run that is final is a no-op. A
    database error is raised to the task, which retries it with backoff; the retry resumes the run
    it still holds (same `lease_owner`, the task id) instead of losing it.
    """
    owner = lease_owner or uuid.uuid4().hex
    index = _claim(index_id, attempt, owner)
    if index is None:
        return
    started = time.perf_counter()
    try:
        _perform(index)
    except IndexFailure as failure:
        _fail(index, failure)
    except Fenced:
        logger.warning("endpoints.index.fenced", extra={"index_id": index.id})
    except SoftTimeLimitExceeded:
        _fail(index, IndexFailure(index_error("TIMEOUT", "Indexing took longer than its time limit"), retryable=True))
    except DATABASE_ERRORS:
        logger.warning("endpoints.index.database_error", extra={"index_id": index.id}, exc_info=True)
        _pause_lease(index)
        raise
    except Exception as exc:
        logger.exception("endpoints.index.crashed", extra={"index_id": index.id})
        _fail(index, IndexFailure(index_error("INTERNAL_ERROR", f"{type(exc).__name__}: {exc}"), retryable=True))
    finally:
        metrics.endpoint_index_duration.observe(time.perf_counter() - started)


def _claim(index_id: str, attempt: int | None, owner: str) -> EndpointIndex | None:
    # The common case in one statement: the run is PENDING, due, and this message is for its attempt.
    now = timezone.now()
    if index_claim(index_id, owner, now, attempts=attempt, due=now + timedelta(seconds=EARLY_SLACK_SECONDS)):
        return _load(index_id)
    row = EndpointIndex.objects.filter(id=index_id).values("status", "run_at", "attempts", "lease_owner").first()
    if row is None:
        return None  # purged
    if row["status"] == IndexStatus.STARTED and row["lease_owner"] == owner:
        # The same message again: this task's retry after a database error (the lease was paused),
        # or a redelivery after its worker died (the lease expired). Carry on with the run.
        if attempt is None or row["attempts"] == attempt + 1:
            return _resume(index_id, row["attempts"], owner)
        return None
    if row["status"] != IndexStatus.PENDING or (attempt is not None and row["attempts"] != attempt):
        return None  # duplicate or stale message: the attempt it was sent for is over
    attempts = row["attempts"]
    now = timezone.now()
    if row["run_at"] is not None and (early := (row["run_at"] - now).total_seconds()) > EARLY_SLACK_SECONDS:
        if early > settings.KONGFLOW_INDEX_EARLY_TOLERANCE_SECONDS:
            # Far too early (clocks apart): consume the message without a new one; the sweeper
            # sends one when `run_at` has passed.
            _release(index_id, attempts)
            return None
        time.sleep(early)  # clock skew between hosts: wait it out rather than send another message
        now = timezone.now()
    claimed = index_claim(index_id, owner, now, attempts=attempts)
    if claimed is None:
        # Another run of this endpoint is STARTED; when it finishes it dispatches this one.
        _release(index_id, attempts)
        return None
    return _load(index_id) if claimed else None


def _release(index_id: str, attempts: int) -> None:
    """The message was consumed without claiming the run: nothing is in flight for it any more."""
    EndpointIndex.objects.filter(id=index_id, status=IndexStatus.PENDING, attempts=attempts).update(dispatched_at=None)


def _resume(index_id: str, attempts: int, owner: str) -> EndpointIndex | None:
    """Take the run back only if nobody is beating for it: paused (NULL) or older than the lease.

    A message redelivered while its first execution still runs is therefore a no-op.
    """
    now = timezone.now()
    expired = now - timedelta(seconds=settings.KONGFLOW_INDEX_LEASE_SECONDS)
    resumed = (
        EndpointIndex.objects.filter(id=index_id, status=IndexStatus.STARTED, attempts=attempts, lease_owner=owner)
        .filter(Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=expired))
        .update(heartbeat_at=now, worker=worker_identity(), updated_at=now)
    )
    return _load(index_id) if resumed else None


def _pause_lease(index: EndpointIndex) -> None:
    """After a database error: mark the lease as not beaten, so the task's retry may resume it at
    once. Best effort on a fresh connection; if the database is still away, the lease expires."""
    try:
        connection.close()
        fenced_queryset(index).update(heartbeat_at=None)
    except DATABASE_ERRORS:
        logger.warning("endpoints.index.lease_not_paused", extra={"index_id": index.id})


def _load(index_id: str) -> EndpointIndex:
    index, previous = endpoint_index_for_run(index_id=index_id)
    index.previous_success = previous  # type: ignore[attr-defined]  # read once by `_fetch_and_apply`
    return index


def _perform(index: EndpointIndex) -> None:
    with Heartbeat(index.id, index.attempts) as heartbeat, cyclic_gc_paused():
        _fetch_and_apply(index)
    if heartbeat.lost.is_set():
        logger.warning("endpoints.index.lease_lost", extra={"index_id": index.id})


def _fetch_and_apply(index: EndpointIndex) -> None:
    endpoint = index.endpoint
    # No other run of the endpoint is STARTED: this stays its latest SUCCESS until this run ends.
    previous: EndpointIndex | None = index.previous_success  # type: ignore[attr-defined]  # see `_load`
    known_body = same_body_candidate(index=index, previous=previous)
    result = fetch_index(endpoint) if known_body is None else fetch_index_unless(endpoint, body_hash=known_body)
    data: dict[str, Any] | None
    data_hash: str | None
    if isinstance(result, IndexUnchanged):
        # The previous run's very bytes: validated, NUL-scanned and hashed then (see `unchanged`).
        assert previous is not None and previous.document_hash is not None
        data, data_hash = None, previous.document_hash
    else:
        reject_unstorable(result.data, body=result.body)
        # Before the transaction only to compare with a previous SUCCESS; otherwise it is computed
        # while the database checks the apply's foreign keys (`registry_apply(meanwhile=...)`).
        data, data_hash = result.data, (document_hash(result.data) if previous is not None else None)
    store_versions(endpoint, result)
    with transaction.atomic():
        if (
            previous is not None
            and data_hash is not None
            and unchanged_since(index=index, endpoint=endpoint, previous=previous, data_hash=data_hash)
        ):
            # Same document, same registry: nothing to write, nothing to diff. The counts are the
            # previous run's, but this run disabled nothing (v2 reports the disables a run made).
            stats = {**cast(dict[str, int], previous.stats), "disabledJobs": 0}
            diff, generation = empty_diff(), previous.registry_generation
            plan, registry_stats = None, None
            warnings = list(previous.warnings or [])  # the same document ignores the same things
        else:
            if data is None:
                # The registry changed since the body was compared: apply the same bytes' document.
                assert previous is not None
                data = cast(dict[str, Any], previous.data)
            # Planned in the same transaction as the writes, so the guard judges what is written.
            plan = registry_plan(endpoint=endpoint, data=data)
            if not index.force and (shrink := plan.suspicious_shrink()):
                raise IndexFailure(index_error("SUSPICIOUS_SHRINK", shrink))
            before = previous.data if previous else None  # loaded here: `meanwhile` must not query
            derived = _Derived(data, before, data_hash)
            registry_stats = registry_apply(endpoint=endpoint, plan=plan, meanwhile=derived.compute)
            stats, generation = registry_stats.as_v2_stats(), registry_stats.registry_generation
            warnings = registry_stats.warnings
            diff, data_hash = derived.diff, derived.hash
        assert data_hash is not None  # `derived.compute` ran during the apply
        now = timezone.now()
        # The endpoint row is locked (URL, health) before the run row's final write, the order a
        # registration takes them in (endpoint, then run): the other way round, a registration
        # joining the next run while a worker claims it could close a cycle with this transaction.
        store_url(endpoint, result.url)  # a redirect's URL is kept only with its successful index
        health = endpoint_health_record(endpoint_id=endpoint.id, status=IndexStatus.SUCCESS, at=now)
        # An identical body is not sent back to the database: the UPDATE copies the previous row's.
        finished = index_success_store(
            index=index,
            stats=stats,
            data=data,
            previous_id=previous.id if data is None and previous is not None else None,
            diff=diff,
            warnings=warnings,
            document_hash=data_hash,
            body_hash=result.body_hash,
            generation=generation,
            now=now,
        )
        if not finished:
            raise Fenced()
        if plan is None or registry_stats is None:
            record_index_unchanged(index=index, stats=stats or {}, warnings=warnings, health=health)
        else:
            record_index_succeeded(index=index, plan=plan, stats=registry_stats, diff=diff, health=health)
        transaction.on_commit(partial(dispatch_waiting, endpoint_id=endpoint.id))
    metrics.endpoint_indexes.labels(index.source, IndexStatus.SUCCESS).inc()
    logger.info(
        "endpoints.index.succeeded",
        extra={"index_id": index.id, "endpoint_id": endpoint.id, "duration_ms": round(result.duration * 1000)},
    )


class _Derived:
    """What a run derives from its document alone (diff, hash): pure Python, no database, so it can
    run beside the apply's longest statement."""

    def __init__(self, data: dict[str, Any], before: Any, data_hash: str | None) -> None:
        self.data, self.before, self.hash = data, before, data_hash
        self.diff: dict[str, Any] = {}

    def compute(self) -> None:
        self.diff = document_diff(self.before, self.data)
        if self.hash is None:
            self.hash = document_hash(self.data)


def fenced_queryset(index: EndpointIndex) -> QuerySet[EndpointIndex]:
    """The run, only while this attempt still holds it."""
    return EndpointIndex.objects.filter(id=index.id, status=IndexStatus.STARTED, attempts=index.attempts)


def _fail(index: EndpointIndex, failure: IndexFailure) -> None:
    """Record a failure: back to PENDING with a backoff when it may recover, else FAILURE."""
    now = timezone.now()
    if failure.retryable and index.attempts < index.max_attempts:
        delay = retry_delay(index.attempts)
        try:
            with transaction.atomic():
                requeued = requeue(
                    index, error=failure.error, run_at=now + timedelta(seconds=delay), exchange=failure.exchange
                )
        except IntegrityError:
            requeued = False  # a newer request is already PENDING and will index the endpoint
        if requeued:
            logger.info(
                "endpoints.index.retrying",
                extra={"index_id": index.id, "attempt": index.attempts, "code": failure.error["code"], "delay": delay},
            )
            return
    with transaction.atomic():
        # Endpoint row first, then the run row (see `_fetch_and_apply`); undone when fenced.
        health = endpoint_health_record(endpoint_id=index.endpoint_id, status=IndexStatus.FAILURE, at=now)
        failed = fenced_queryset(index).update(
            status=IndexStatus.FAILURE,
            error=failure.error,
            exchange=failure.exchange,
            finished_at=now,
            heartbeat_at=None,
            updated_at=now,
        )
        if failed == 1:
            record_index_failed(index=index, error=failure.error, health=health)
            transaction.on_commit(partial(dispatch_waiting, endpoint_id=index.endpoint_id))
        else:
            transaction.set_rollback(True)
    if failed == 1:
        metrics.endpoint_indexes.labels(index.source, IndexStatus.FAILURE).inc()
        logger.info(
            "endpoints.index.failed",
            extra={"index_id": index.id, "endpoint_id": index.endpoint_id, "code": failure.error["code"]},
        )


def requeue(
    index: EndpointIndex, *, error: dict[str, Any], run_at: datetime, exchange: dict[str, Any] | None = None
) -> bool:
    """STARTED -> PENDING for the next attempt (fenced); its one message is sent after commit.

    Must run inside a transaction; raises IntegrityError when another run is already PENDING.
    """
    requeued = fenced_queryset(index).update(
        status=IndexStatus.PENDING,
        error=error,
        exchange=exchange,
        run_at=run_at,
        dispatched_at=None,
        heartbeat_at=None,
        worker=None,
        lease_owner=None,
        updated_at=timezone.now(),
    )
    if requeued == 1:
        transaction.on_commit(partial(index_dispatch, index_id=index.id))
    return requeued == 1
