"""Index runs: request (create or join), dispatch after commit, claim, perform, finish, recover.

Invariants (enforced by constraints on EndpointIndex): per endpoint at most one PENDING and one
STARTED run. A request that finds a PENDING run joins it. A run is claimed PENDING -> STARTED by a
conditional update that also bumps `attempts`; every later write of the run is conditional on that
`attempts` value, so a run recovered by the sweeper can never be finished twice.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any
from urllib.parse import urljoin

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.utils import timezone

from endpointapi import EndpointApiError, EndpointRedirect, IndexResult
from endpoints import metrics
from endpoints.index_errors import index_error
from endpoints.models import Endpoint, EndpointIndex, EnvironmentType, IndexSource, IndexStatus
from endpoints.selectors import endpoint_index_latest_success
from endpoints.services.clients import endpoint_client
from endpoints.services.diff import document_diff, document_hash
from endpoints.services.registry import RegistryPlan, registry_apply, registry_plan
from endpoints.utils import js_iso, nul_path

logger = logging.getLogger(__name__)

MAX_REDIRECTS = 5
MAX_COALESCED_ENTRIES = 50
# A worker that dies is not the endpoint's fault: allow a few recoveries even for one-attempt runs.
MIN_ATTEMPTS_AFTER_WORKER_LOSS = 3


class IndexFailure(Exception):
    def __init__(self, error: dict[str, Any], *, retryable: bool = False) -> None:
        super().__init__(error["message"])
        self.error = error
        self.retryable = retryable


class _Fenced(Exception):
    """The run was taken over (recovered) while this worker was still on it."""


# --- requesting ---------------------------------------------------------------------------------


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
    max_attempts = (
        1 if endpoint.environment.type == EnvironmentType.DEVELOPMENT else settings.KONGFLOW_INDEX_MAX_ATTEMPTS
    )
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
                joined = _join_pending(endpoint=endpoint, entry=entry, force=force)
                if joined is None:
                    continue  # the PENDING run was claimed meanwhile: create a new one
                metrics.endpoint_index_requests.labels(source, "joined").inc()
                return joined
            transaction.on_commit(partial(index_dispatch, index_id=index.id, countdown=delay or None))
            metrics.endpoint_index_requests.labels(source, "created").inc()
            return index
    raise RuntimeError("could not create or join a pending index")


def _join_pending(*, endpoint: Endpoint, entry: dict[str, Any], force: bool) -> EndpointIndex | None:
    index = EndpointIndex.objects.select_for_update().filter(endpoint=endpoint, status=IndexStatus.PENDING).first()
    if index is None:
        return None
    index.requests += 1
    if len(index.coalesced) < MAX_COALESCED_ENTRIES:
        index.coalesced.append(entry)
    index.force = index.force or force
    index.save(update_fields=["requests", "coalesced", "force", "updated_at"])
    return index


def index_dispatch(*, index_id: str, countdown: float | None = None) -> None:
    """Send the run to the worker. A broker outage is logged, not raised: the sweeper re-dispatches."""
    from endpoints.tasks import perform_endpoint_index

    try:
        perform_endpoint_index.apply_async(kwargs={"index_id": index_id}, countdown=countdown)
    except Exception:
        logger.warning("endpoints.index.dispatch_failed", extra={"index_id": index_id}, exc_info=True)


def endpoint_index_wait(*, index_id: str, timeout: float, interval: float = 0.1) -> EndpointIndex:
    """Poll the run until it is final or `timeout` seconds passed; returns its latest state."""
    deadline = time.monotonic() + timeout
    while True:
        index = EndpointIndex.objects.get(id=index_id)
        if index.is_final or time.monotonic() >= deadline:
            return index
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
        interval = min(interval * 1.5, 0.5)


# --- running ------------------------------------------------------------------------------------


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
    except _Fenced:
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
    result = _fetch_index(endpoint, persist_redirects=True)
    _reject_unstorable(result.data)
    _store_versions(endpoint, result)
    previous = endpoint_index_latest_success(endpoint_id=endpoint.id)
    with transaction.atomic():
        # Planned in the same transaction as the writes, so the guard judges what is written.
        plan = registry_plan(endpoint=endpoint, data=result.data)
        if not index.force and (shrink := plan.suspicious_shrink()):
            raise IndexFailure(index_error("SUSPICIOUS_SHRINK", shrink))
        registry_stats = registry_apply(endpoint=endpoint, plan=plan)
        now = timezone.now()
        finished = _fenced_queryset(index).update(
            status=IndexStatus.SUCCESS,
            stats=registry_stats.as_v2_stats(),
            data=result.data,
            diff=document_diff(previous.data if previous else None, result.data),
            document_hash=document_hash(result.data),
            error=None,
            finished_at=now,
            updated_at=now,
        )
        if finished != 1:
            raise _Fenced()
        transaction.on_commit(partial(_dispatch_waiting, endpoint_id=endpoint.id))
    metrics.endpoint_indexes.labels(index.source, IndexStatus.SUCCESS).inc()
    logger.info(
        "endpoints.index.succeeded",
        extra={"index_id": index.id, "endpoint_id": endpoint.id, "duration_ms": round(result.duration * 1000)},
    )


def _fetch_index(endpoint: Endpoint, *, persist_redirects: bool) -> IndexResult:
    """INDEX_ENDPOINT with manual redirects: follow at most MAX_REDIRECTS, storing the new URL (§5.4)."""
    if not endpoint.url:
        raise IndexFailure(index_error("ENDPOINT_DELETED", "Endpoint URL is not set"))
    for redirects in range(MAX_REDIRECTS + 1):
        client = endpoint_client(url=endpoint.url, api_key=endpoint.environment.api_key)
        try:
            return client.index_endpoint()
        except EndpointRedirect as exc:
            if not exc.location:
                message = f"Endpoint {endpoint.url} is redirecting but no location header is present"
                raise IndexFailure(index_error("REDIRECT_WITHOUT_LOCATION", message)) from exc
            if redirects == MAX_REDIRECTS:
                message = f"Endpoint {endpoint.url} is redirecting too many times"
                raise IndexFailure(index_error("REDIRECT_LOOP", message)) from exc
            # Resolved against the current URL: a relative Location would otherwise be stored as-is.
            endpoint.url = urljoin(endpoint.url, exc.location)
            if persist_redirects:
                Endpoint.objects.filter(id=endpoint.id).update(url=endpoint.url, updated_at=timezone.now())
        except EndpointApiError as exc:
            raise IndexFailure(index_error(exc.code, exc.message, raw=exc.raw), retryable=exc.retryable) from exc
    raise AssertionError("unreachable")


def _reject_unstorable(data: dict[str, Any]) -> None:
    """A NUL character is valid JSON but cannot be stored: fail like any invalid document."""
    path = nul_path(data)
    if path is None:
        return
    at = ".".join(str(part) for part in path)
    if len(path) >= 2 and path[0] == "jobs" and isinstance(path[1], int):
        job_id = data["jobs"][path[1]].get("id", path[1])
        rest = ".".join(str(part) for part in path[2:])
        message = f'Your Jobs have issues:\n- Job "{job_id}": Text must not contain NUL characters at "{rest}".'
    else:
        message = f'There\'s an issue with the format of your Jobs: text must not contain NUL characters at "{at}".'
    raise IndexFailure(index_error("INVALID_DOCUMENT", message))


def _store_versions(endpoint: Endpoint, result: IndexResult) -> None:
    """One UPDATE when a version header changed; an absent header leaves its column as it is (§2.12)."""
    version = result.trigger_version or endpoint.version
    sdk_version = result.trigger_sdk_version or endpoint.sdk_version
    if (version, sdk_version) != (endpoint.version, endpoint.sdk_version):
        endpoint.version, endpoint.sdk_version = version, sdk_version
        Endpoint.objects.filter(id=endpoint.id).update(
            version=version, sdk_version=sdk_version, updated_at=timezone.now()
        )


def _fenced_queryset(index: EndpointIndex):
    return EndpointIndex.objects.filter(id=index.id, status=IndexStatus.STARTED, attempts=index.attempts)


def _fail(index: EndpointIndex, failure: IndexFailure) -> float | None:
    """Record a failure: back to PENDING with a backoff when it may recover, else FAILURE."""
    now = timezone.now()
    if failure.retryable and index.attempts < index.max_attempts:
        delay = retry_delay(index.attempts)
        try:
            with transaction.atomic():
                requeued = _fenced_queryset(index).update(
                    status=IndexStatus.PENDING,
                    error=failure.error,
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
        failed = _fenced_queryset(index).update(
            status=IndexStatus.FAILURE, error=failure.error, finished_at=now, updated_at=now
        )
        if failed == 1:
            transaction.on_commit(partial(_dispatch_waiting, endpoint_id=index.endpoint_id))
    if failed == 1:
        metrics.endpoint_indexes.labels(index.source, IndexStatus.FAILURE).inc()
        logger.info(
            "endpoints.index.failed",
            extra={"index_id": index.id, "endpoint_id": index.endpoint_id, "code": failure.error["code"]},
        )
    return None


def retry_delay(attempt: int) -> float:
    """Exponential backoff with jitter: ~5 s, 10 s, 20 s … capped at 5 minutes."""
    return min(5.0 * 2 ** max(attempt - 1, 0), 300.0) * random.uniform(0.8, 1.2)


def _dispatch_waiting(*, endpoint_id: str) -> None:
    waiting = EndpointIndex.objects.filter(endpoint_id=endpoint_id, status=IndexStatus.PENDING).first()
    if waiting is not None:
        countdown = (waiting.run_at - timezone.now()).total_seconds() if waiting.run_at else 0
        index_dispatch(index_id=waiting.id, countdown=countdown if countdown > 0 else None)


# --- previews (reindex --dry-run) ----------------------------------------------------------------


@dataclass
class IndexPreview:
    endpoint: Endpoint
    plan: RegistryPlan | None = None
    diff: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    shrink: str | None = None


def endpoint_index_preview(*, endpoint: Endpoint) -> IndexPreview:
    """Fetch, validate, plan and diff without writing anything (redirects are followed, not stored)."""
    preview = IndexPreview(endpoint=endpoint)
    try:
        result = _fetch_index(endpoint, persist_redirects=False)
    except IndexFailure as failure:
        preview.error = failure.error
        return preview
    preview.plan = registry_plan(endpoint=endpoint, data=result.data)
    preview.shrink = preview.plan.suspicious_shrink()
    previous = endpoint_index_latest_success(endpoint_id=endpoint.id)
    preview.diff = document_diff(previous.data if previous else None, result.data)
    return preview


# --- recovery and housekeeping (Celery beat) -----------------------------------------------------


@dataclass
class SweepResult:
    redispatched: list[str] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def endpoint_indexes_sweep(*, limit: int = 500) -> SweepResult:
    """Re-dispatch PENDING runs whose task never ran, and recover STARTED runs whose worker died."""
    result = SweepResult()
    now = timezone.now()
    pending_cutoff = now - timedelta(seconds=settings.KONGFLOW_SWEEP_PENDING_AFTER_SECONDS)
    stale_pending = EndpointIndex.objects.filter(status=IndexStatus.PENDING).filter(
        Q(dispatched_at__lt=pending_cutoff) | Q(dispatched_at__isnull=True, run_at__lt=pending_cutoff)
    )
    for index_id in list(stale_pending.values_list("id", flat=True)[:limit]):
        if EndpointIndex.objects.filter(id=index_id, status=IndexStatus.PENDING).update(dispatched_at=now):
            index_dispatch(index_id=index_id)
            result.redispatched.append(index_id)

    started_cutoff = now - timedelta(seconds=settings.KONGFLOW_SWEEP_STARTED_AFTER_SECONDS)
    orphans = EndpointIndex.objects.filter(status=IndexStatus.STARTED, started_at__lt=started_cutoff)
    for index in list(orphans.select_related("endpoint")[:limit]):
        _recover_orphan(index, result)
    if result.redispatched or result.recovered or result.failed:
        logger.warning(
            "endpoints.index.swept",
            extra={
                "redispatched": len(result.redispatched),
                "recovered": len(result.recovered),
                "failed": len(result.failed),
            },
        )
    return result


def _recover_orphan(index: EndpointIndex, result: SweepResult) -> None:
    now = timezone.now()
    error = index_error("WORKER_LOST", "The worker running this index stopped before it finished")
    if index.attempts < max(index.max_attempts, MIN_ATTEMPTS_AFTER_WORKER_LOSS):
        try:
            with transaction.atomic():
                requeued = _fenced_queryset(index).update(
                    status=IndexStatus.PENDING, error=error, run_at=now, dispatched_at=now, updated_at=now
                )
        except IntegrityError:
            requeued = 0
        if requeued == 1:
            index_dispatch(index_id=index.id)
            result.recovered.append(index.id)
            return
    if _fenced_queryset(index).update(status=IndexStatus.FAILURE, error=error, finished_at=now, updated_at=now):
        metrics.endpoint_indexes.labels(index.source, IndexStatus.FAILURE).inc()
        result.failed.append(index.id)
        _dispatch_waiting(endpoint_id=index.endpoint_id)


def endpoint_indexes_purge(*, days: int | None = None, batch_size: int = 1000) -> int:
    """Delete finished runs older than the retention, never an endpoint's latest SUCCESS."""
    cutoff = timezone.now() - timedelta(days=days if days is not None else settings.KONGFLOW_INDEX_RETENTION_DAYS)
    latest_success = (
        EndpointIndex.objects.filter(endpoint_id=OuterRef("endpoint_id"), status=IndexStatus.SUCCESS)
        .order_by("-created_at")
        .values("id")[:1]
    )
    candidates = (
        EndpointIndex.objects.filter(created_at__lt=cutoff, status__in=[IndexStatus.SUCCESS, IndexStatus.FAILURE])
        .annotate(latest_success_id=Subquery(latest_success))
        .exclude(id=F("latest_success_id"))
    )
    deleted = 0
    while ids := list(candidates.values_list("id", flat=True)[:batch_size]):
        deleted += EndpointIndex.objects.filter(id__in=ids).delete()[0]
    return deleted


def endpoints_recurring_index() -> list[str]:
    """Index live PRODUCTION and STAGING endpoints that had no index request recently (§5.7)."""
    cutoff = timezone.now() - timedelta(minutes=settings.KONGFLOW_RECURRING_INDEX_MINUTES)
    due = (
        Endpoint.objects.filter(
            url__isnull=False, environment__type__in=[EnvironmentType.PRODUCTION, EnvironmentType.STAGING]
        )
        .exclude(indexings__created_at__gt=cutoff)
        .select_related("environment")
    )
    requested = []
    for endpoint in due.iterator(chunk_size=200):
        endpoint_index_request(endpoint=endpoint, source=IndexSource.INTERNAL, reason="Recurring index")
        requested.append(endpoint.id)
    return requested
