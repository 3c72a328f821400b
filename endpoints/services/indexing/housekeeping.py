"""Recovery and housekeeping, run by Celery beat: the sweeper, the purge, the recurring index."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.utils import timezone

from endpoints import metrics
from endpoints.index_errors import index_error
from endpoints.models import Endpoint, EndpointIndex, EnvironmentType, IndexSource, IndexStatus
from endpoints.services.health import endpoint_health_record

from .dispatch import dispatch_waiting, index_dispatch
from .requests import endpoint_index_request
from .retry import MIN_ATTEMPTS_AFTER_WORKER_LOSS
from .runs import fenced_queryset

logger = logging.getLogger(__name__)


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
                requeued = fenced_queryset(index).update(
                    status=IndexStatus.PENDING, error=error, run_at=now, dispatched_at=now, updated_at=now
                )
        except IntegrityError:
            requeued = 0
        if requeued == 1:
            index_dispatch(index_id=index.id)
            result.recovered.append(index.id)
            return
    with transaction.atomic():
        failed = fenced_queryset(index).update(status=IndexStatus.FAILURE, error=error, finished_at=now, updated_at=now)
        if failed:
            endpoint_health_record(endpoint_id=index.endpoint_id, status=IndexStatus.FAILURE, at=now)
    if failed:
        metrics.endpoint_indexes.labels(index.source, IndexStatus.FAILURE).inc()
        result.failed.append(index.id)
        dispatch_waiting(endpoint_id=index.endpoint_id)


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
