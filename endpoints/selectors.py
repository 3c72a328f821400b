"""Reads that more than one interface needs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from itertools import islice

from django.conf import settings
from django.db import connection
from django.db.models import BooleanField, Count, ExpressionWrapper, F, Min, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from endpoints.db import ModelColumns, server_binding_cursor
from endpoints.errors import EndpointIndexNotFound, EndpointNotFound
from endpoints.models import (
    DeliveryStatus,
    Endpoint,
    EndpointHealth,
    EndpointIndex,
    HousekeepingRun,
    IndexStatus,
    Organization,
    RuntimeEnvironment,
    WebhookDelivery,
)
from endpoints.models.tenancy import hash_key
from endpoints.services.keys import constant_time_equals


def environment_for_api_key(api_key: str) -> RuntimeEnvironment | None:
    """The environment whose secret key this is, unless its project or organization is deleted.

    During a rotation grace the previous key is accepted too (a second lookup, only when the key
    is not a current one); after the grace it matches nothing.
    """
    key_hash = hash_key(api_key)
    environments = RuntimeEnvironment.objects.select_related("project", "organization")
    environment = environments.filter(api_key_hash=key_hash).first()
    if environment is not None:
        stored = environment.api_key
    else:
        environment = environments.filter(
            previous_api_key_hash=key_hash, previous_api_key_expires_at__gt=timezone.now()
        ).first()
        if environment is None:
            return None
        stored = environment.previous_api_key or ""
    if not constant_time_equals(stored, api_key):
        return None
    if environment.project.deleted_at is not None or environment.organization.deleted_at is not None:
        return None
    return environment


def endpoint_get(*, environment: RuntimeEnvironment, slug: str) -> Endpoint:
    try:
        return Endpoint.objects.get(environment=environment, slug=slug)
    except Endpoint.DoesNotExist:
        raise EndpointNotFound() from None


@cache
def _hook_lookup_sql() -> str:
    endpoint, environment = Endpoint._meta.db_table, RuntimeEnvironment._meta.db_table
    return (
        f"SELECT e.id, e.indexing_hook_identifier, e.health, e.consecutive_failures, v.id, v.type FROM {endpoint} e "  # noqa: S608 - table names
        f"JOIN {environment} v ON v.id = e.environment_id WHERE e.environment_id = %s AND e.slug = %s"
    )


def endpoint_for_hook(*, environment_id: str, slug: str) -> Endpoint | None:
    """The endpoint a deploy hook names, with only what a hook needs (its id, hook identifier,
    health and environment type), soft-deleted or not.

    A storm of hooks is mostly this lookup: one constant statement that psycopg prepares on the
    connection (server-side binding), instead of an ORM query compiled per request."""
    with server_binding_cursor() as cursor:
        cursor.execute(_hook_lookup_sql(), [environment_id, slug])
        row = cursor.fetchone()
    if row is None:
        return None
    endpoint_id, hook_identifier, health, failures, env_id, env_type = row
    endpoint = Endpoint(
        id=endpoint_id,
        environment_id=env_id,
        slug=slug,
        indexing_hook_identifier=hook_identifier,
        health=health,
        consecutive_failures=failures,
    )
    endpoint.environment = RuntimeEnvironment(id=env_id, type=env_type)
    return endpoint


def endpoint_index_get(*, environment: RuntimeEnvironment, index_id: str) -> EndpointIndex:
    try:
        return EndpointIndex.objects.get(id=index_id, endpoint__environment=environment)
    except EndpointIndex.DoesNotExist:
        raise EndpointIndexNotFound() from None


# What a run needs of the endpoint's latest SUCCESS run (its document is loaded on first access).
_PREVIOUS_FIELDS = ("id", "document_hash", "body_hash", "registry_generation", "stats", "warnings")
# The run's own documents: a run writes them, never reads them.
_RUN_DEFERRED = ("data", "diff", "stats", "exchange", "coalesced", "source_data", "error", "warnings")


@dataclass(frozen=True)
class _RunStatement:
    sql: str
    index: ModelColumns
    endpoint: ModelColumns
    environment: ModelColumns
    previous: ModelColumns


@cache
def _run_statement() -> _RunStatement:
    """`endpoint_index_for_run`'s statement, built once per process from the
    models' metadata: compiling the equivalent ORM query cost more than running it."""
    q = connection.ops.quote_name

    def columns(alias: str, of: ModelColumns) -> list[str]:
        return [f"{alias}.{q(str(field.column))}" for field in of.fields]

    index = ModelColumns.of(f for f in EndpointIndex._meta.concrete_fields if f.attname not in _RUN_DEFERRED)
    endpoint = ModelColumns.of(Endpoint._meta.concrete_fields)
    environment = ModelColumns.of(RuntimeEnvironment._meta.concrete_fields)
    previous = ModelColumns.of(EndpointIndex._meta.get_field(name) for name in _PREVIOUS_FIELDS)  # type: ignore[misc]
    runs, organizations = q(EndpointIndex._meta.db_table), q(Organization._meta.db_table)
    # One probe of endpointindex_endpoint_recent per column of the latest SUCCESS run.
    latest = [
        f"(SELECT {column} FROM {runs} s WHERE s.endpoint_id = i.endpoint_id "  # noqa: S608 - quoted model metadata
        f"AND s.status = '{IndexStatus.SUCCESS.value}' ORDER BY s.created_at DESC LIMIT 1)"
        for column in columns("s", previous)
    ]
    select = [*columns("i", index), *columns("e", endpoint), *columns("v", environment), *latest]
    # The environment's organization: what its outbound policy reads (services.clients.outbound_policy).
    networks = f"(SELECT o.allowed_networks FROM {organizations} o WHERE o.id = v.organization_id)"  # noqa: S608
    generation = f"(SELECT o.registry_generation FROM {organizations} o WHERE o.id = e.organization_id)"  # noqa: S608
    sql = (
        f"SELECT {', '.join(select)}, {networks}, {generation} FROM {runs} i "  # noqa: S608 - quoted model metadata
        f"JOIN {q(Endpoint._meta.db_table)} e ON e.id = i.endpoint_id "
        f"JOIN {q(RuntimeEnvironment._meta.db_table)} v ON v.id = e.environment_id WHERE i.id = %(index)s"
    )
    return _RunStatement(sql, index, endpoint, environment, previous)


def endpoint_index_for_run(*, index_id: str) -> tuple[EndpointIndex, EndpointIndex | None]:
    """A claimed run with its endpoint, environment (and its organization's allowed networks), and
    the endpoint's latest SUCCESS run (as :func:`endpoint_index_latest_success` with the
    organization's current registry generation), in one constant statement (prepared by psycopg on
    the connection). None of the run's own documents are loaded: a run writes them, never reads them."""
    statement = _run_statement()
    with server_binding_cursor() as cursor:
        cursor.execute(statement.sql, {"index": index_id})
        row = cursor.fetchone()
    if row is None:
        raise EndpointIndex.DoesNotExist(f"EndpointIndex {index_id} does not exist")
    values = iter(row)
    index = statement.index.instance(EndpointIndex, islice(values, len(statement.index.fields)))
    endpoint = statement.endpoint.instance(Endpoint, islice(values, len(statement.endpoint.fields)))
    environment = statement.environment.instance(RuntimeEnvironment, islice(values, len(statement.environment.fields)))
    endpoint.environment = environment
    index.endpoint = endpoint
    *found, allowed_networks, generation_now = values
    # Only what the outbound policy reads; the other fields are deferred (loaded if ever read).
    environment.organization = Organization.from_db(
        connection.alias, ["id", "allowed_networks"], [environment.organization_id, allowed_networks]
    )
    if found[0] is None:
        return index, None
    previous = statement.previous.instance(EndpointIndex, found)
    previous.registry_generation_now = generation_now  # type: ignore[attr-defined]
    return index, previous


def endpoint_index_latest_success(*, endpoint_id: str, organization_id: str | None = None) -> EndpointIndex | None:
    """The endpoint's last SUCCESS run: what a new index is diffed against. Its `data` (the whole
    document) is loaded on first access only: an unchanged re-index never needs it.

    With `organization_id`, the organization's current registry generation comes with it in the
    same query, as `registry_generation_now`."""
    queryset = EndpointIndex.objects.filter(endpoint_id=endpoint_id, status=IndexStatus.SUCCESS)
    if organization_id is not None:
        now = Organization.objects.filter(id=organization_id).values("registry_generation")[:1]
        queryset = queryset.annotate(registry_generation_now=Subquery(now))
    return queryset.order_by("-created_at").only(*_PREVIOUS_FIELDS).first()


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
    "endpoints.sweep_alert_notifications",
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


@dataclass(frozen=True)
class EndpointKeyState:
    id: str
    slug: str
    url: str
    #: "current", "previous" or "unknown" (never answered, or to a key older than the previous one).
    key: str
    since: datetime | None


@dataclass(frozen=True)
class EnvironmentKeyStatus:
    rotated_at: datetime | None
    #: Until when the previous key works; None when no grace is running.
    previous_key_expires_at: datetime | None
    endpoints: list[EndpointKeyState]

    @property
    def in_grace(self) -> bool:
        return self.previous_key_expires_at is not None

    def on(self, key: str) -> list[EndpointKeyState]:
        return [endpoint for endpoint in self.endpoints if endpoint.key == key]


def environment_key_status(*, environment: RuntimeEnvironment) -> EnvironmentKeyStatus:
    """Which key each live endpoint of the environment last accepted (one query): during a
    rotation grace, the endpoints on "previous" stop working when the grace ends."""
    in_grace = environment.previous_api_key_valid()
    rows = (
        Endpoint.objects.filter(environment=environment, url__isnull=False)
        .order_by("slug")
        .values_list("id", "slug", "url", "answered_key_hash", "answered_key_since")
    )
    states = []
    for endpoint_id, slug, url, key_hash, since in rows:
        if key_hash and key_hash == environment.api_key_hash:
            key = "current"
        elif key_hash and key_hash == environment.previous_api_key_hash:
            key = "previous"
        else:
            key = "unknown"
        states.append(EndpointKeyState(id=endpoint_id, slug=slug, url=url or "", key=key, since=since))
    return EnvironmentKeyStatus(
        rotated_at=environment.api_key_rotated_at,
        previous_key_expires_at=environment.previous_api_key_expires_at if in_grace else None,
        endpoints=states,
    )


def endpoint_index_statuses(*, index_ids: Iterable[str]) -> dict[str, str]:
    """Status of each run (one query, none of the large JSON columns)."""
    return dict(EndpointIndex.objects.filter(id__in=list(index_ids)).values_list("id", "status"))


def environments_with_old_key_counts(queryset: QuerySet[RuntimeEnvironment]) -> QuerySet[RuntimeEnvironment]:
    """Annotate `old_key_endpoints_count`: live endpoints whose last accepted key is the previous one."""
    return queryset.annotate(
        old_key_endpoints_count=Count(
            "endpoints",
            filter=Q(endpoints__url__isnull=False, endpoints__answered_key_hash=F("previous_api_key_hash")),
        )
    )


@dataclass(frozen=True)
class WorkBacklog:
    """Work of one kind that is due and not yet taken: what an autoscaler scales its workers on."""

    kind: str  # "index" (runs PENDING and due) or "webhooks" (deliveries PENDING and due)
    depth: int
    oldest_due_at: datetime | None


def work_backlogs(*, now: datetime | None = None) -> list[WorkBacklog]:
    """Due index runs and due webhook deliveries: a count and the oldest due time each, one
    aggregate over an index each (`endpointindex_status_updated`, `webhookdelivery_due`). A run or
    delivery waiting out a retry's backoff is not due yet."""
    now = now or timezone.now()
    runs = EndpointIndex.objects.filter(status=IndexStatus.PENDING).filter(Q(run_at__isnull=True) | Q(run_at__lte=now))
    deliveries = WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    index = runs.aggregate(depth=Count("id"), oldest=Min(Coalesce("run_at", "created_at")))
    webhooks = deliveries.aggregate(depth=Count("id"), oldest=Min(Coalesce("next_attempt_at", "created_at")))
    return [
        WorkBacklog("index", index["depth"], index["oldest"]),
        WorkBacklog("webhooks", webhooks["depth"], webhooks["oldest"]),
    ]


def endpoints_by_health() -> dict[str, int]:
    """How many endpoints are in each health state (every state, zeros included); soft-deleted
    ones are DELETED whatever their stored health."""
    counts = {state: 0 for state in EndpointHealth.values}
    deleted = ExpressionWrapper(Q(url__isnull=True), output_field=BooleanField())
    rows = Endpoint.objects.annotate(deleted=deleted).values("health", "deleted").annotate(n=Count("id")).order_by()
    for row in rows:
        state = EndpointHealth.DELETED if row["deleted"] else row["health"]
        counts[state] = counts.get(state, 0) + row["n"]
    return counts
