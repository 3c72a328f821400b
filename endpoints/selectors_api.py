"""Reads of the registry API (`/api/v1/endpoints/…`): querysets always scoped to one environment
(or to one endpoint found in it), ordered by a key that is unique within that scope so a cursor
page is stable, and with a constant number of queries per page whatever its size."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import F, Func, IntegerField, OuterRef, Prefetch, QuerySet, Subquery, Value
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Coalesce

from endpoints.models import (
    DynamicTrigger,
    DynamicTriggerType,
    Endpoint,
    EndpointHealth,
    EndpointIndex,
    IndexStatus,
    Job,
    JobAlias,
    JobIntegration,
    JobVersion,
    JobVersionStatus,
    RuntimeEnvironment,
    TriggerSource,
)
from endpoints.services.registry.plan import LATEST_ALIAS

#: The columns of a run a list shows (none of its documents: `data`, `exchange`, the whole `diff`).
_RUN_SUMMARY = (
    "id",
    "endpoint_id",
    "source",
    "reason",
    "status",
    "stats",
    "requests",
    "attempts",
    "created_at",
    "updated_at",
    "started_at",
    "finished_at",
)


def _runs() -> QuerySet[EndpointIndex]:
    """Runs with what a summary shows: the error's code and the diff's `jobs` part, read in SQL."""
    return EndpointIndex.objects.only(*_RUN_SUMMARY).annotate(
        error_code=KeyTextTransform("code", "error"), jobs_diff=KeyTransform("jobs", "diff")
    )


def _count(queryset: QuerySet) -> Coalesce:  # type: ignore[type-arg]
    """A correlated COUNT(*) of `queryset` (an index probe per endpoint row). A plain `Func`, not
    Django's `Count`: an aggregate would add a GROUP BY (one row per group, not one count)."""
    counted = queryset.order_by().annotate(n=Func("pk", function="COUNT")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _latest_run_id(*, successful: bool) -> Subquery:
    runs = EndpointIndex.objects.filter(endpoint_id=OuterRef("pk"))
    if successful:
        runs = runs.filter(status=IndexStatus.SUCCESS)
    return Subquery(runs.order_by("-created_at").values("id")[:1])


def _latest_jobs() -> QuerySet[JobAlias]:
    """The `latest` alias of each live job, for the endpoint its latest version is on."""
    return JobAlias.objects.filter(name=LATEST_ALIAS, job__deleted_at__isnull=True)


def _with_summary(queryset: QuerySet[Endpoint]) -> QuerySet[Endpoint]:
    triggers = DynamicTrigger.objects.filter(endpoint_id=OuterRef("pk"))
    return queryset.annotate(
        # From the endpoint's versions (indexed by endpoint) to the `latest` alias pointing at one
        # (indexed by version; an alias points at a version of its own environment's endpoints):
        # from the aliases' side it read every alias of the environment for each endpoint.
        jobs_count=_count(
            JobVersion.objects.filter(
                endpoint_id=OuterRef("pk"), aliases__name=LATEST_ALIAS, job__deleted_at__isnull=True
            )
        ),
        sources_count=_count(TriggerSource.objects.filter(endpoint_id=OuterRef("pk"))),
        triggers_count=_count(triggers.filter(type=DynamicTriggerType.EVENT)),
        schedules_count=_count(triggers.filter(type=DynamicTriggerType.SCHEDULE)),
        latest_index_id=_latest_run_id(successful=False),
        latest_success_id=_latest_run_id(successful=True),
    )


def endpoints_list(*, environment: RuntimeEnvironment, health: str | None = None) -> QuerySet[Endpoint]:
    """The environment's endpoints with their summary, soft-deleted ones only for `health=DELETED`."""
    queryset = Endpoint.objects.filter(environment=environment)
    if health == EndpointHealth.DELETED:
        queryset = queryset.filter(url__isnull=True)
    else:
        queryset = queryset.filter(url__isnull=False)
        if health is not None:
            queryset = queryset.filter(health=health)
    return _with_summary(queryset)


def endpoint_summary_get(*, environment: RuntimeEnvironment, slug: str) -> Endpoint | None:
    """One endpoint of the environment (soft-deleted too) with its summary and latest runs."""
    endpoint = _with_summary(Endpoint.objects.filter(environment=environment, slug=slug)).first()
    if endpoint is not None:
        endpoints_attach_latest_runs([endpoint])
    return endpoint


def endpoints_attach_latest_runs(endpoints: Sequence[Endpoint]) -> None:
    """Set `latest_index` and `latest_success` on endpoints from `endpoints_list` (one query)."""
    wanted = {e.latest_index_id for e in endpoints} | {e.latest_success_id for e in endpoints}  # type: ignore[attr-defined]
    wanted.discard(None)
    runs = {run.id: run for run in _runs().filter(id__in=wanted)} if wanted else {}
    for endpoint in endpoints:
        endpoint.latest_index = runs.get(endpoint.latest_index_id)  # type: ignore[attr-defined]
        endpoint.latest_success = runs.get(endpoint.latest_success_id)  # type: ignore[attr-defined]


def endpoint_runs_list(
    *, endpoint: Endpoint, status: str | None = None, source: str | None = None
) -> QuerySet[EndpointIndex]:
    """The endpoint's index runs (summaries), filtered by status and source."""
    queryset = _runs().filter(endpoint=endpoint)
    if status is not None:
        queryset = queryset.filter(status=status)
    if source is not None:
        queryset = queryset.filter(source=source)
    return queryset


def endpoint_jobs_list(*, endpoint: Endpoint, enabled: bool | None = None) -> QuerySet[JobAlias]:
    """The jobs whose latest version is on this endpoint, one `latest` alias each (with its job,
    version and the version's integrations), annotated with the job's `slug`."""
    integrations = JobIntegration.objects.select_related("integration").only(
        "key", "version_id", "integration__slug", "integration__definition_id"
    )
    queryset = (
        _latest_jobs()
        .filter(environment_id=endpoint.environment_id, version__endpoint=endpoint)
        .select_related("job", "version")
        .only(
            "id",
            "job__slug",
            "job__title",
            "job__internal",
            "version__version",
            "version__status",
            "version__trigger",
            "version__updated_at",
        )
        .annotate(slug=F("job__slug"))
        .prefetch_related(Prefetch("version__integrations", queryset=integrations))
    )
    if enabled is not None:
        status = JobVersionStatus.ACTIVE if enabled else JobVersionStatus.DISABLED
        queryset = queryset.filter(version__status=status)
    return queryset


def endpoint_sources_list(*, endpoint: Endpoint, active: bool | None = None) -> QuerySet[TriggerSource]:
    queryset = (
        TriggerSource.objects.filter(endpoint=endpoint)
        .select_related("integration")
        .only(
            "id",
            "key",
            "channel",
            "active",
            "params",
            "dynamic_trigger_id",
            "created_at",
            "updated_at",
            "integration__slug",
            "integration__definition_id",
        )
    )
    return queryset if active is None else queryset.filter(active=active)


def endpoint_dynamic_triggers_list(
    *, endpoint: Endpoint, trigger_type: str, active: bool | None = None
) -> QuerySet[DynamicTrigger]:
    """The endpoint's dynamic triggers (EVENT) or dynamic schedules (SCHEDULE), with the slugs of
    the jobs that use them."""
    queryset = DynamicTrigger.objects.filter(endpoint=endpoint, type=trigger_type).prefetch_related(
        Prefetch("jobs", queryset=_job_slugs())
    )
    return queryset if active is None else queryset.filter(active=active)


def _job_slugs() -> QuerySet[Job]:
    return Job.objects.only("id", "slug").order_by("slug")
