"""Reads that more than one interface needs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from endpoints.errors import EndpointIndexNotFound, EndpointNotFound
from endpoints.models import Endpoint, EndpointIndex, HousekeepingRun, IndexStatus, RuntimeEnvironment
from endpoints.models.tenancy import hash_key
from endpoints.services.keys import constant_time_equals


def environment_for_api_key(api_key: str) -> RuntimeEnvironment | None:
    """The environment whose secret key this is, unless its project or organization is deleted."""
    environment = (
        RuntimeEnvironment.objects.select_related("project", "organization")
        .filter(api_key_hash=hash_key(api_key))
        .first()
    )
    if environment is None or not constant_time_equals(environment.api_key, api_key):
        return None
    if environment.project.deleted_at is not None or environment.organization.deleted_at is not None:
        return None
    return environment


def endpoint_get(*, environment: RuntimeEnvironment, slug: str) -> Endpoint:
    try:
        return Endpoint.objects.get(environment=environment, slug=slug)
    except Endpoint.DoesNotExist:
        raise EndpointNotFound() from None


def endpoint_index_get(*, environment: RuntimeEnvironment, index_id: str) -> EndpointIndex:
    try:
        return EndpointIndex.objects.get(id=index_id, endpoint__environment=environment)
    except EndpointIndex.DoesNotExist:
        raise EndpointIndexNotFound() from None


def endpoint_index_latest_success(*, endpoint_id: str) -> EndpointIndex | None:
    """The endpoint's last SUCCESS run: what a new index is diffed against. Its `data` (the whole
    document) is loaded on first access only: an unchanged re-index never needs it."""
    return (
        EndpointIndex.objects.filter(endpoint_id=endpoint_id, status=IndexStatus.SUCCESS)
        .order_by("-created_at")
        .only("id", "document_hash", "registry_generation", "stats")
        .first()
    )


def endpoints_for_reindex(
    *, endpoint: str | None = None, environment_id: str | None = None, all_endpoints: bool = False
) -> QuerySet[Endpoint]:
    """Live endpoints (url set) chosen by slug or id, by environment, or all of them."""
    queryset = Endpoint.objects.filter(url__isnull=False).select_related("environment").order_by("created_at")
    if endpoint is not None:
        queryset = queryset.filter(id=endpoint) | queryset.filter(slug=endpoint)
    if environment_id is not None:
        queryset = queryset.filter(environment_id=environment_id)
    if endpoint is None and environment_id is None and not all_endpoints:
        return queryset.none()
    return queryset


HOUSEKEEPING_TASKS = (
    "endpoints.sweep_endpoint_indexes",
    "endpoints.recurring_endpoint_indexing",
    "endpoints.purge_old_endpoint_indexes",
    "endpoints.sweep_webhook_deliveries",
    "endpoints.purge_old_registry_events",
)


@dataclass(frozen=True)
class HousekeepingStatus:
    task: str
    interval_seconds: float
    last_started_at: datetime | None
    last_finished_at: datetime | None
    last_error: str | None
    overdue: bool


def housekeeping_status(*, now: datetime | None = None) -> list[HousekeepingStatus]:
    """For each housekeeping task (sweeper, recurring index, purge): when it last finished, and
    whether that is more than twice its beat interval (+1 min) ago, i.e. beat or the worker stopped.

    A task that never finished is overdue when no task has any record (beat never ran) or when the
    first record of any task (about when beat started) is older than its allowance.
    """
    now = now or timezone.now()
    intervals = {
        entry["task"]: float(entry["schedule"])
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if isinstance(entry.get("schedule"), int | float)
    }
    records = {run.task: run for run in HousekeepingRun.objects.filter(task__in=HOUSEKEEPING_TASKS)}
    first_seen = min((r.last_started_at for r in records.values() if r.last_started_at), default=None)
    statuses = []
    for task in HOUSEKEEPING_TASKS:
        interval = intervals.get(task, 3600.0)
        allowed = timedelta(seconds=2 * interval + 60)
        record = records.get(task)
        finished = record.last_finished_at if record else None
        since = finished or first_seen  # never finished: judged from when beat seems to have started
        overdue = since is None or now - since > allowed
        statuses.append(
            HousekeepingStatus(
                task=task,
                interval_seconds=interval,
                last_started_at=record.last_started_at if record else None,
                last_finished_at=finished,
                last_error=record.last_error if record else None,
                overdue=overdue,
            )
        )
    return statuses
