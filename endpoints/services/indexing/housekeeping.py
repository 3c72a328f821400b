"""Recovery and housekeeping, run by Celery beat: the sweeper, the purge, and the record (and claim) of each run."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.utils import timezone

from endpoints import metrics
from endpoints.index_errors import index_error
from endpoints.models import FINAL_STATUSES, EndpointIndex, HousekeepingRun, IndexStatus
from endpoints.services.events.recording import record_index_failed
from endpoints.services.health import endpoint_health_record

from .dispatch import broker_epochs_gone, dispatch_waiting, index_dispatch
from .retry import MIN_ATTEMPTS_AFTER_WORKER_LOSS
from .runs import fenced_queryset, requeue

logger = logging.getLogger(__name__)


@dataclass
class SweepResult:
    redispatched: list[str] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def endpoint_indexes_sweep(*, limit: int = 500) -> SweepResult:
    """Send the PENDING runs that have no message in flight, and recover STARTED runs whose lease expired.

    See `dispatch` for why this never re-sends a message that is merely waiting in a backlog.
    """
    result = SweepResult()
    now = timezone.now()
    for index_id in _runs_needing_a_message(now, limit):
        if index_dispatch(index_id=index_id):
            result.redispatched.append(index_id)

    lease_cutoff = now - timedelta(seconds=settings.KONGFLOW_INDEX_LEASE_SECONDS)
    orphans = EndpointIndex.objects.filter(status=IndexStatus.STARTED).filter(
        Q(heartbeat_at__lt=lease_cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=lease_cutoff)
    )
    for index in list(orphans.select_related("endpoint__environment")[:limit]):
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


def _runs_needing_a_message(now: datetime, limit: int) -> list[str]:
    """PENDING runs due for a message: never sent (or consumed unclaimed), or lost by the broker."""
    pending = EndpointIndex.objects.filter(status=IndexStatus.PENDING)
    # A run waiting for its endpoint's STARTED run is dispatched when that one finishes.
    blocked = Exists(EndpointIndex.objects.filter(endpoint_id=OuterRef("endpoint_id"), status=IndexStatus.STARTED))
    due = now - timedelta(seconds=settings.KONGFLOW_SWEEP_PENDING_AFTER_SECONDS)
    unsent = pending.filter(dispatched_at__isnull=True).filter(Q(run_at__isnull=True) | Q(run_at__lt=due))
    ids = list(unsent.exclude(blocked).order_by("run_at").values_list("id", flat=True)[:limit])

    lost_cutoff = now - timedelta(seconds=settings.KONGFLOW_DISPATCH_LOST_AFTER_SECONDS)
    lost = Q(dispatched_at__lt=lost_cutoff) & (Q(run_at__isnull=True) | Q(run_at__lt=lost_cutoff))
    in_flight = pending.filter(dispatched_at__lt=due)
    gone = broker_epochs_gone(in_flight.order_by().values_list("dispatch_epoch", flat=True).distinct())
    if gone:
        # Sent on a broker that lost its data since (a restart without persistence): the message is gone.
        sent_in_gone = Q(dispatch_epoch__in=[epoch for epoch in gone if epoch is not None])
        if None in gone:
            sent_in_gone |= Q(dispatch_epoch__isnull=True)
        lost |= Q(dispatched_at__lt=due) & sent_in_gone
    for row in pending.filter(dispatched_at__isnull=False).filter(lost).values("id", "dispatched_at")[:limit]:
        # Conditional on the value read, so that two sweepers do not both send it.
        if EndpointIndex.objects.filter(id=row["id"], dispatched_at=row["dispatched_at"]).update(dispatched_at=None):
            ids.append(row["id"])
    return ids


def _recover_orphan(index: EndpointIndex, result: SweepResult) -> None:
    now = timezone.now()
    error = index_error("WORKER_LOST", "The worker running this index stopped before it finished")
    if index.attempts < max(index.max_attempts, MIN_ATTEMPTS_AFTER_WORKER_LOSS):
        try:
            with transaction.atomic():
                requeued = requeue(index, error=error, run_at=now)
        except IntegrityError:
            requeued = False
        if requeued:
            result.recovered.append(index.id)
            return
    with transaction.atomic():
        # Endpoint row first, then the run row (the order of registrations); undone when fenced.
        health = endpoint_health_record(endpoint_id=index.endpoint_id, status=IndexStatus.FAILURE, at=now)
        failed = fenced_queryset(index).update(
            status=IndexStatus.FAILURE, error=error, finished_at=now, heartbeat_at=None, updated_at=now
        )
        if failed:
            record_index_failed(index=index, error=error, health=health)
        else:
            transaction.set_rollback(True)
    if failed:
        metrics.endpoint_indexes.labels(index.source, IndexStatus.FAILURE).inc()
        result.failed.append(index.id)
        dispatch_waiting(endpoint_id=index.endpoint_id)


def endpoint_indexes_purge(*, days: int | None = None, batch_size: int = 1000) -> int:
    """Delete finished runs older than the retention, never an endpoint's latest SUCCESS.

    An endpoint that never succeeded has no latest SUCCESS: all its old runs go (a NULL-safe test;
    `id <> NULL` would keep them forever).
    """
    cutoff = timezone.now() - timedelta(days=days if days is not None else settings.KONGFLOW_INDEX_RETENTION_DAYS)
    latest_success = (
        EndpointIndex.objects.filter(endpoint_id=OuterRef("endpoint_id"), status=IndexStatus.SUCCESS)
        .order_by("-created_at")
        .values("id")[:1]
    )
    candidates = (
        EndpointIndex.objects.filter(created_at__lt=cutoff, status__in=FINAL_STATUSES)
        .annotate(latest_success_id=Subquery(latest_success))
        .filter(Q(latest_success_id__isnull=True) | ~Q(id=F("latest_success_id")))
    )
    deleted = 0
    while ids := list(candidates.values_list("id", flat=True)[:batch_size]):
        deleted += EndpointIndex.objects.filter(id__in=ids).delete()[0]
    return deleted


def housekeeping_record(
    *, task: str, work: Callable[[], object], fired_at: str | None = None, every: float | None = None
) -> bool:
    """Run one housekeeping task and record when it started and finished (for /readyz and the console).

    A run that beat sent (`fired_at`, `every`: when beat fired it, the entry's interval in seconds)
    first claims its interval (`housekeeping_claim`) and does nothing when another run has it.
    Returns whether it ran.
    """
    started = timezone.now()
    if fired_at is not None and every:
        if not housekeeping_claim(task=task, fired_at=datetime.fromisoformat(fired_at), every=every, now=started):
            logger.info("housekeeping.skipped", extra={"task": task, "fired_at": fired_at})
            return False
    else:
        HousekeepingRun.objects.update_or_create(task=task, defaults={"last_started_at": started})
    try:
        work()
    except Exception as exc:
        HousekeepingRun.objects.filter(task=task).update(last_error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    HousekeepingRun.objects.filter(task=task).update(
        last_finished_at=timezone.now(), last_error=None, runs=F("runs") + 1
    )
    metrics.housekeeping_last_run.labels(task).set(timezone.now().timestamp())
    return True


def housekeeping_claim(*, task: str, fired_at: datetime, every: float, now: datetime | None = None) -> bool:
    """Take the beat interval `fired_at` falls in for `task`; False when a run already took it.

    Beat may run on several hosts (so that housekeeping survives losing one): each sends every
    entry once per interval, and this lets one of those messages per interval run. Intervals are
    counted from the Unix epoch (`fired_at` // `every`), so every beat names the same one, and one
    beat's consecutive messages (at least `every` apart) always name different ones. The claim is
    one conditional UPDATE of the task's row: of two concurrent claims, the second re-reads the row
    the first wrote and matches nothing. A message re-delivered after its worker died, or one beat
    sent twice, finds its interval taken too. A fire time in the future (a host's clock ahead)
    counts as now, so that it cannot take intervals still to come.
    """
    now = now or timezone.now()
    fired_ms = int(min(fired_at, now).timestamp() * 1000)
    period_ms = max(1, int(every * 1000))
    interval_start = datetime.fromtimestamp((fired_ms - fired_ms % period_ms) / 1000, tz=UTC)
    rows = HousekeepingRun.objects.filter(task=task)
    free = Q(last_fired_at__isnull=True) | Q(last_fired_at__lt=interval_start)
    for _ in range(2):
        if rows.filter(free).update(last_fired_at=min(fired_at, now), last_started_at=now):
            return True
        if rows.update(skipped=F("skipped") + 1):
            return False
        HousekeepingRun.objects.bulk_create([HousekeepingRun(task=task)], ignore_conflicts=True)  # first run
    return False
