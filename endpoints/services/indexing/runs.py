"""Running one index: claim it, fetch and apply the document, finish it or schedule its retry."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from functools import partial

from celery.exceptions import SoftTimeLimitExceeded
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from endpoints import metrics
from endpoints.index_errors import index_error
from endpoints.models import EndpointIndex, IndexStatus
from endpoints.selectors import endpoint_index_latest_success
from endpoints.services.diff import document_diff, document_hash
from endpoints.services.health import endpoint_health_record
from endpoints.services.registry import registry_apply, registry_plan

from .dispatch import dispatch_waiting
from .failures import Fenced, IndexFailure
from .fetch import fetch_index, reject_unstorable, store_versions
from .retry import retry_delay

logger = logging.getLogger(__name__)


def endpoint_index_run(*, index_id: str) -> float | None:
    """Claim and perform one run. Returns the seconds after which the task must retry, else None."""
    index = _claim(index_id)
    if not isinstance(index, EndpointIndex):
        return index
    started = time.perf_counter()
    try:
        _perform(index)
    except IndexFailure as failure:
        return _fail(index, failure)
    except Fenced:
        logger.warning("endpoints.index.fenced", extra={"index_id": index.id})
        return None
    except SoftTimeLimitExceeded:
        return _fail(
            index, IndexFailure(index_error("TIMEOUT", "Indexing took longer than its time limit"), retryable=True)
        )
    except Exception as exc:
        logger.exception("endpoints.index.crashed", extra={"index_id": index.id})
        return _fail(index, IndexFailure(index_error("INTERNAL_ERROR", f"{type(exc).__name__}: {exc}"), retryable=True))
    finally:
        metrics.endpoint_index_duration.observe(time.perf_counter() - started)
    return None


def _claim(index_id: str) -> EndpointIndex | float | None:
    row = EndpointIndex.objects.filter(id=index_id).values("status", "run_at").first()
    if row is None or row["status"] != IndexStatus.PENDING:
        return None  # duplicate delivery, or the row was purged
    now = timezone.now()
    if row["run_at"] is not None and (early := (row["run_at"] - now).total_seconds()) > 0.5:
        return early
    try:
        with transaction.atomic():
            claimed = EndpointIndex.objects.filter(id=index_id, status=IndexStatus.PENDING).update(
                status=IndexStatus.STARTED, attempts=F("attempts") + 1, started_at=now, updated_at=now
            )
    except IntegrityError:
        # Another run of this endpoint is STARTED; when it finishes it dispatches this one.
        return None
    if claimed != 1:
        return None
    return EndpointIndex.objects.select_related(
        "endpoint__environment__organization", "endpoint__environment__project"
    ).get(id=index_id)


def _perform(index: EndpointIndex) -> None:
    endpoint = index.endpoint
    result = fetch_index(endpoint, persist_redirects=True)
    reject_unstorable(result.data)
    store_versions(endpoint, result)
    previous = endpoint_index_latest_success(endpoint_id=endpoint.id)
    with transaction.atomic():
        # Planned in the same transaction as the writes, so the guard judges what is written.
        plan = registry_plan(endpoint=endpoint, data=result.data)
        if not index.force and (shrink := plan.suspicious_shrink()):
            raise IndexFailure(index_error("SUSPICIOUS_SHRINK", shrink))
        registry_stats = registry_apply(endpoint=endpoint, plan=plan)
        now = timezone.now()
        finished = fenced_queryset(index).update(
            status=IndexStatus.SUCCESS,
            stats=registry_stats.as_v2_stats(),
            data=result.data,
            diff=document_diff(previous.data if previous else None, result.data),
            document_hash=document_hash(result.data),
            error=None,
            exchange=None,
            finished_at=now,
            updated_at=now,
        )
        if finished != 1:
            raise Fenced()
        endpoint_health_record(endpoint_id=endpoint.id, status=IndexStatus.SUCCESS, at=now)
        transaction.on_commit(partial(dispatch_waiting, endpoint_id=endpoint.id))
    metrics.endpoint_indexes.labels(index.source, IndexStatus.SUCCESS).inc()
    logger.info(
        "endpoints.index.succeeded",
        extra={"index_id": index.id, "endpoint_id": endpoint.id, "duration_ms": round(result.duration * 1000)},
    )


def fenced_queryset(index: EndpointIndex) -> QuerySet[EndpointIndex]:
    """The run, only while this attempt still holds it."""
    return EndpointIndex.objects.filter(id=index.id, status=IndexStatus.STARTED, attempts=index.attempts)


def _fail(index: EndpointIndex, failure: IndexFailure) -> float | None:
    """Record a failure: back to PENDING with a backoff when it may recover, else FAILURE."""
    now = timezone.now()
    if failure.retryable and index.attempts < index.max_attempts:
        delay = retry_delay(index.attempts)
        try:
            with transaction.atomic():
                requeued = fenced_queryset(index).update(
                    status=IndexStatus.PENDING,
                    error=failure.error,
                    exchange=failure.exchange,
                    run_at=now + timedelta(seconds=delay),
                    dispatched_at=now,
                    updated_at=now,
                )
        except IntegrityError:
            requeued = 0  # a newer request is already PENDING and will index the endpoint
        if requeued == 1:
            logger.info(
                "endpoints.index.retrying",
                extra={"index_id": index.id, "attempt": index.attempts, "code": failure.error["code"], "delay": delay},
            )
            return delay
    with transaction.atomic():
        failed = fenced_queryset(index).update(
            status=IndexStatus.FAILURE, error=failure.error, exchange=failure.exchange, finished_at=now, updated_at=now
        )
        if failed == 1:
            endpoint_health_record(endpoint_id=index.endpoint_id, status=IndexStatus.FAILURE, at=now)
            transaction.on_commit(partial(dispatch_waiting, endpoint_id=index.endpoint_id))
    if failed == 1:
        metrics.endpoint_indexes.labels(index.source, IndexStatus.FAILURE).inc()
        logger.info(
            "endpoints.index.failed",
            extra={"index_id": index.id, "endpoint_id": index.endpoint_id, "code": failure.error["code"]},
        )
    return None
