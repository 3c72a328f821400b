"""Selectors of the operators' console (admin): lists, the endpoint page and the overview.

Every read here costs a constant number of queries and never loads the large JSON columns of
runs (`data`, `diff`, `source_data`, `exchange`) unless one run's page asks for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from endpoints.models import (
    DynamicTrigger,
    DynamicTriggerType,
    Endpoint,
    EndpointHealth,
    EndpointIndex,
    IndexSource,
    IndexStatus,
    JobVersion,
    JobVersionStatus,
    ScheduleSource,
    TriggerHttpEndpointEnvironment,
    TriggerSource,
)
from endpoints.selectors import HousekeepingStatus, endpoints_by_health, housekeeping_status
from endpoints.services.run_hours import HourStats, run_hours

#: Columns of a run that can be megabytes: never in a list.
RUN_LARGE_COLUMNS = ("data", "diff", "source_data", "exchange", "coalesced")


def runs_light(queryset: QuerySet[EndpointIndex] | None = None) -> QuerySet[EndpointIndex]:
    return (queryset if queryset is not None else EndpointIndex.objects.all()).defer(*RUN_LARGE_COLUMNS)


def endpoints_with_counts(queryset: QuerySet[Endpoint]) -> QuerySet[Endpoint]:
    """Annotate `active_jobs` with one correlated subquery (no query per row)."""
    active = (
        JobVersion.objects.filter(endpoint_id=OuterRef("pk"), status=JobVersionStatus.ACTIVE)
        .order_by()
        .values("endpoint_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    return queryset.annotate(active_jobs=Coalesce(Subquery(active, output_field=IntegerField()), 0))


def health_filter(health: str) -> Q:
    if health == EndpointHealth.DELETED:
        return Q(url__isnull=True)
    return Q(url__isnull=False, health=health)


@dataclass
class EndpointRegistry:
    jobs: list[JobVersion]
    sources: list[TriggerSource]
    dynamic_triggers: list[DynamicTrigger]
    dynamic_schedules: list[ScheduleSource]
    http_endpoints: list[TriggerHttpEndpointEnvironment]


def endpoint_registry(*, endpoint: Endpoint, limit: int = 200) -> EndpointRegistry:
    """What the endpoint's indexes registered: five queries whatever the counts (each capped)."""
    return EndpointRegistry(
        jobs=list(
            JobVersion.objects.filter(endpoint=endpoint)
            .select_related("job")
            .only("id", "version", "status", "trigger", "updated_at", "job__slug", "job__title")
            .order_by("job__slug", "-created_at")[:limit]
        ),
        sources=list(
            TriggerSource.objects.filter(endpoint=endpoint)
            .select_related("integration")
            .only("id", "key", "channel", "active", "updated_at", "integration__slug")
            .order_by("key")[:limit]
        ),
        dynamic_triggers=list(
            DynamicTrigger.objects.filter(endpoint=endpoint, type=DynamicTriggerType.EVENT).order_by("slug")[:limit]
        ),
        dynamic_schedules=list(
            ScheduleSource.objects.filter(endpoint=endpoint)
            .only("id", "key", "schedule", "active", "next_event_timestamp")
            .order_by("key")[:limit]
        ),
        http_endpoints=list(
            TriggerHttpEndpointEnvironment.objects.filter(endpoint=endpoint)
            .select_related("http_endpoint")
            .only("id", "active", "source", "http_endpoint__key", "http_endpoint__title")
            .order_by("http_endpoint__key")[:limit]
        ),
    )


def endpoint_latest_diff(*, endpoint_id: str) -> EndpointIndex | None:
    """The latest SUCCESS run, with its diff and stats (not its document)."""
    return (
        EndpointIndex.objects.filter(endpoint_id=endpoint_id, status=IndexStatus.SUCCESS)
        .order_by("-created_at")
        .only("id", "diff", "stats", "created_at", "finished_at")
        .first()
    )


def endpoint_recent_runs(*, endpoint_id: str, limit: int = 10) -> list[EndpointIndex]:
    return list(runs_light(EndpointIndex.objects.filter(endpoint_id=endpoint_id)).order_by("-created_at")[:limit])


# -- overview -----------------------------------------------------------------------------------


@dataclass
class Overview:
    now: datetime
    endpoints_by_health: dict[str, int]
    runs_by_status: dict[str, int]
    runs_by_source: dict[str, int]
    latest_failures: list[EndpointIndex]
    pending: int
    oldest_pending_at: datetime | None
    hours: list[HourStats]
    housekeeping: list[HousekeepingStatus]


def overview_get(*, now: datetime | None = None) -> Overview:
    """Everything on the overview page, in a handful of queries: the runs' figures come from
    `run_hours` (24 kept hours, or the runs of the hours not kept yet)."""
    now = now or timezone.now()
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=23)

    by_status = {choice: 0 for choice in IndexStatus.values}
    by_source = {choice: 0 for choice in IndexSource.values}
    hours = run_hours(start=start, now=now)
    for stats in hours:
        for status, sources in stats.counts.items():
            for source, n in sources.items():
                by_status[status] = by_status.get(status, 0) + n
                by_source[source] = by_source.get(source, 0) + n

    failures = list(
        EndpointIndex.objects.filter(status=IndexStatus.FAILURE)
        .select_related("endpoint")
        .only("id", "error", "source", "created_at", "finished_at", "endpoint__slug", "endpoint__id")
        .order_by("-id")[:10]  # ids follow time: the latest created
    )
    backlog = EndpointIndex.objects.filter(status=IndexStatus.PENDING)
    oldest = backlog.order_by("created_at").values_list("created_at", flat=True).first()

    return Overview(
        now=now,
        endpoints_by_health=endpoints_by_health(),
        runs_by_status=by_status,
        runs_by_source=by_source,
        latest_failures=failures,
        pending=backlog.count(),
        oldest_pending_at=oldest,
        hours=hours,
        housekeeping=housekeeping_last_runs(),
    )


def housekeeping_last_runs() -> list[HousekeepingStatus]:
    """When each housekeeping task (sweepers, recurring index, purges) last ran, and whether it is
    overdue (beat or the worker stopped): the records the tasks write themselves."""
    return housekeeping_status()
