"""Persist an index document: jobs and their versions, integrations, sources, dynamic triggers and
schedules, HTTP endpoints and webhooks (reference §5.4 steps 9-14, §5.10).

The original registers item by item (≈ 20-30 SQL statements per job, §5.11). Here `registry_plan`
reads what exists in a constant number of SELECTs and decides what to write and disable, and
`registry_apply` writes it set-based: upserts with `bulk_create(update_conflicts=...)`, set updates
and deletes, and one re-select by natural key wherever a row id is needed (ids are generated client
side, so after an upsert that hit an existing row the Python object's id is not the row's id). The
number of statements therefore does not depend on how many jobs, integrations, examples or sources
the document declares.

Kongflow decisions (each one a deliberate deviation from T23):
* `latest` is the highest ACTIVE version by semantic-version order (`semver.version_key`).
* `enabled:false` disables the job's ACTIVE versions on this endpoint even when the declared version
  was never registered (upstream #1041).
* Missing-job disabling is scoped to this endpoint: a job vanished only if its `latest` version in
  this environment belongs to this endpoint. Another endpoint's jobs are never touched.
* Sources, dynamic triggers/schedules, HTTP endpoint and webhook environments of this endpoint that
  vanished from the document are deactivated, and re-activated when they come back.
* A registered job that is no longer `scheduled` gets its job-keyed ScheduleSource deactivated (the
  original kept firing schedules into the repointed dispatcher).
* The webhook counter counts registered webhooks (the original never incremented it).
* Items that cannot be stored (identifiers longer than their column, a HOSTED integration that does
  not exist, a webhook whose HTTP endpoint is missing or taken) are skipped and reported in
  `errors`, like the original's per-item "log and swallow"; they never abort the whole index.
"""

from __future__ import annotations

import logging
import secrets
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction
from django.db.models import Q, Value
from django.db.models.functions import Concat
from django.utils import timezone

from endpoints.models import (
    ConcurrencyLimitGroup,
    DynamicTrigger,
    DynamicTriggerType,
    Endpoint,
    EventDispatcher,
    EventExample,
    Integration,
    IntegrationDefinition,
    Job,
    JobAlias,
    JobIntegration,
    JobVersion,
    JobVersionStatus,
    RuntimeEnvironment,
    ScheduleSource,
    SecretReference,
    SecretStore,
    TriggerHttpEndpoint,
    TriggerHttpEndpointEnvironment,
    TriggerSource,
    TriggerSourceOption,
    Webhook,
    WebhookEnvironment,
)
from endpoints.models.registry import AuthSource, ConnectionType, SetupStatus, StartPosition, TriggerChannel
from endpoints.services.semver import version_key

logger = logging.getLogger(__name__)

LATEST_ALIAS = "latest"
SCHEDULED_EVENT = "dev.trigger.scheduled"
SCHEDULED_SOURCE = "trigger.dev"
MIN_INTERVAL_SECONDS = 20
MAX_INT = 2**31 - 1
# Joins the parts of a natural key into one string, so "delete what was not upserted" is one
# statement for all rows (ids are base36 and never contain it).
_SEP = "\x1f"

REASON_ENABLED_FALSE = "enabled_false"
REASON_VANISHED = "vanished"


# ---------------------------------------------------------------------------------------------------
# Plan and result types
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobToRegister:
    slug: str
    version: str
    internal: bool
    trigger_type: str
    exists: bool  # a Job row with this slug exists in the project (possibly soft-deleted)
    metadata: dict = field(repr=False, compare=False)


@dataclass(frozen=True)
class JobToDisable:
    slug: str
    version: str
    why: str  # REASON_ENABLED_FALSE | REASON_VANISHED
    job_id: str
    version_id: str


@dataclass
class _Snapshot:
    """What the plan read and the apply needs again (ids and previous state)."""

    active_job_ids_before: set[str] = field(default_factory=set)
    sources: dict[str, dict] = field(default_factory=dict)  # declared key -> existing row
    options: dict[str, list[tuple[str, str, bool]]] = field(default_factory=dict)  # source id -> options
    vanished_source_ids: list[str] = field(default_factory=list)
    dynamic_triggers: dict[tuple[str, str], dict] = field(default_factory=dict)  # (slug, type) -> row
    vanished_dynamic_trigger_ids: list[str] = field(default_factory=list)
    vanished_dynamic_schedule_ids: list[str] = field(default_factory=list)
    vanished_http_endpoint_env_ids: list[str] = field(default_factory=list)
    webhooks: dict[str, dict] = field(default_factory=dict)  # declared key -> existing row
    vanished_webhook_env_ids: list[str] = field(default_factory=list)


@dataclass
class RegistryPlan:
    """What `registry_apply` will write and disable for one index document of one endpoint."""

    endpoint_id: str
    environment_id: str
    declared_jobs: int
    jobs_to_register: list[JobToRegister]
    jobs_to_disable: list[JobToDisable]
    active_jobs_before: int
    sources_to_register: list[dict]
    sources_to_deactivate: list[str]
    dynamic_triggers_to_register: list[dict]
    dynamic_triggers_to_deactivate: list[str]
    dynamic_schedules_to_register: list[dict]
    dynamic_schedules_to_deactivate: list[str]
    http_endpoints_to_register: list[dict]
    http_endpoints_to_deactivate: list[str]
    webhooks_to_register: list[dict]
    webhooks_to_deactivate: list[str]
    errors: list[str]
    snapshot: _Snapshot = field(repr=False)

    @property
    def active_jobs_to_disable(self) -> int:
        """How many of the endpoint's currently active jobs this index disables."""
        job_ids = {item.job_id for item in self.jobs_to_disable}
        return len(job_ids & self.snapshot.active_job_ids_before)

    def suspicious_shrink(self) -> str | None:
        """Why this index looks like a broken deploy rather than a change, or None."""
        before = self.active_jobs_before
        if before == 0:
            return None
        if self.declared_jobs == 0:
            return f"The index declares no jobs, but the endpoint has {before} active job(s)."
        disabled = self.active_jobs_to_disable
        if disabled * 2 > before:
            return f"The index would disable {disabled} of the endpoint's {before} active job(s)."
        return None


@dataclass
class RegistryFollowUps:
    """Work for the caller to queue after commit (the registry itself never talks to workers)."""

    # `activateSource` payloads ({"version", "id", "orphanedOptions" | "orphanedEvents"}).
    source_activations: list[dict] = field(default_factory=list)
    # Active ScheduleSource ids whose next event must be (re)computed and queued.
    schedules_to_arm: list[str] = field(default_factory=list)
    # ScheduleSource ids deactivated by this index: dequeue `scheduled:<id>`.
    schedules_to_disarm: list[str] = field(default_factory=list)
    # WebhookEnvironment ids whose webhook must be (re)registered with the integration.
    webhooks_to_register: list[str] = field(default_factory=list)


@dataclass
class RegistryStats:
    jobs: int = 0
    disabled_jobs: int = 0
    sources: int = 0
    dynamic_triggers: int = 0
    dynamic_schedules: int = 0
    http_endpoints: int = 0
    webhooks: int = 0
    errors: list[str] = field(default_factory=list)
    follow_ups: RegistryFollowUps = field(default_factory=RegistryFollowUps)

    def as_v2_stats(self) -> dict[str, int]:
        """The `EndpointIndex.stats` shape of the original (camelCase counters)."""
        return {
            "jobs": self.jobs,
            "sources": self.sources,
            "webhooks": self.webhooks,
            "dynamicTriggers": self.dynamic_triggers,
            "dynamicSchedules": self.dynamic_schedules,
            "disabledJobs": self.disabled_jobs,
            "httpEndpoints": self.http_endpoints,
        }

    as_dict = as_v2_stats


# ---------------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------------


def _dedupe(items: Iterable[Any] | None, key_name: str) -> dict[str, dict]:
    """By natural key, first position, last value: what sequential registration would leave behind,
    and one row per conflict key (a bulk upsert may not touch a row twice)."""
    result: dict[str, dict] = {}
    for item in items or []:
        if isinstance(item, dict) and isinstance(item.get(key_name), str):
            result[item[key_name]] = item
    return result


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _max_length(model: type[models.Model], field_name: str) -> int | None:
    return model._meta.get_field(field_name).max_length


def _too_long(value: str | None, model: type[models.Model], field_name: str, *, reserve: int = 0) -> bool:
    limit = _max_length(model, field_name)
    return value is not None and limit is not None and len(value) + reserve > limit


def _clip(value: Any, model: type[models.Model], field_name: str) -> Any:
    """Display text is cut to its column rather than failing the whole index."""
    limit = _max_length(model, field_name)
    if isinstance(value, str) and limit is not None and len(value) > limit:
        return value[:limit]
    return value


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_INT


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _keyed(*parts: str) -> str:
    return _SEP.join(parts)


def _delete_unlisted(queryset: models.QuerySet, key_fields: list[str], keep: set[str]) -> int:
    """Delete the rows of `queryset` whose joined natural key is not in `keep`: one statement."""
    expressions: list[Any] = []
    for position, name in enumerate(key_fields):
        if position:
            expressions.append(Value(_SEP))
        expressions.append(name)
    annotated = queryset.annotate(_natural_key=Concat(*expressions, output_field=models.CharField()))
    deleted, _ = annotated.exclude(_natural_key__in=keep).delete()
    return deleted


def _new_secret() -> str:
    return secrets.token_hex(32)


def _integration_problem(config: dict) -> str | None:
    metadata = config.get("metadata") or {}
    if _too_long(config.get("id"), Integration, "slug"):
        return f'integration id "{config.get("id")}" is too long'
    if _too_long(metadata.get("id"), IntegrationDefinition, "id"):
        return f'integration definition id "{metadata.get("id")}" is too long'
    return None


def _job_problem(job: dict) -> str | None:
    """Why this job cannot be stored (values a column cannot hold), or None."""
    if _too_long(job["id"], Job, "slug"):
        return "the id is too long"
    if _too_long(job["version"], JobVersion, "version"):
        return "the version is too long"
    for key, config in (job.get("integrations") or {}).items():
        if _too_long(key, JobIntegration, "key"):
            return f'integration key "{key}" is too long'
        problem = _integration_problem(config)
        if problem:
            return problem
    for example in (job.get("event") or {}).get("examples") or []:
        if _too_long(example.get("id"), EventExample, "slug"):
            return f'example id "{example.get("id")}" is too long'
    limit = job.get("concurrencyLimit")
    if isinstance(limit, dict):
        if _too_long(limit.get("id"), ConcurrencyLimitGroup, "name") or not _is_count(limit.get("limit")):
            return "the concurrency limit group cannot be stored"
    elif limit is not None and not _is_count(limit):
        return "the concurrency limit cannot be stored"
    trigger = job.get("trigger") or {}
    if trigger.get("type") == "static" and _too_long(
        (trigger.get("rule") or {}).get("source"), EventDispatcher, "source"
    ):
        return "the trigger source is too long"
    if trigger.get("type") == "scheduled":
        schedule = trigger.get("schedule") or {}
        if _too_long(schedule.get("accountId"), ScheduleSource, "account_id"):
            return "the schedule accountId is too long"
    return None


def _source_options(source: dict) -> dict[str, list[str]]:
    """v1 declares `events` (stored as option "event"), v2 `options`; values de-duplicated."""
    if str(source.get("version", "1")) == "2":
        raw = source.get("options") or {}
    else:
        raw = {"event": source.get("events") or []}
    return {name: _unique(str(value) for value in values) for name, values in raw.items()}


def _source_problem(source: dict, endpoint: Endpoint) -> str | None:
    # The secret reference key is "<endpointId>:<key>".
    if _too_long(source["key"], TriggerSource, "key") or _too_long(
        source["key"], SecretReference, "key", reserve=len(endpoint.id) + 1
    ):
        return "the key is too long"
    for name, values in _source_options(source).items():
        if _too_long(name, TriggerSourceOption, "name"):
            return f'option name "{name}" is too long'
        if any(_too_long(value, TriggerSourceOption, "value") for value in values):
            return f'an option value of "{name}" is too long'
    return _integration_problem(source.get("integration") or {})


def _schedule_for_source(schedule: dict) -> dict:
    """`{type, options}`; intervals below 20 s are clamped to 20 (RegisterScheduleSource)."""
    options = dict(schedule.get("options") or {})
    if schedule.get("type") == "interval":
        seconds = options.get("seconds")
        if isinstance(seconds, int | float) and seconds < MIN_INTERVAL_SECONDS:
            options["seconds"] = MIN_INTERVAL_SECONDS
    return {"type": schedule.get("type"), "options": options}


# ---------------------------------------------------------------------------------------------------
# Plan
# ---------------------------------------------------------------------------------------------------


def registry_plan(*, endpoint: Endpoint, data: dict) -> RegistryPlan:
    """Read-only, a constant number of SELECTs: what `registry_apply` would register, disable and
    deactivate. Call it in the same transaction as the apply for an exact picture."""
    plan = RegistryPlan(
        endpoint_id=endpoint.id,
        environment_id=endpoint.environment_id,
        declared_jobs=0,
        jobs_to_register=[],
        jobs_to_disable=[],
        active_jobs_before=0,
        sources_to_register=[],
        sources_to_deactivate=[],
        dynamic_triggers_to_register=[],
        dynamic_triggers_to_deactivate=[],
        dynamic_schedules_to_register=[],
        dynamic_schedules_to_deactivate=[],
        http_endpoints_to_register=[],
        http_endpoints_to_deactivate=[],
        webhooks_to_register=[],
        webhooks_to_deactivate=[],
        errors=[],
        snapshot=_Snapshot(),
    )
    _plan_jobs(plan, endpoint, data)
    _plan_sources(plan, endpoint, data)
    _plan_dynamic(plan, endpoint, data)
    _plan_http_endpoints(plan, endpoint, data)
    _plan_webhooks(plan, endpoint, data)
    return plan


def _plan_jobs(plan: RegistryPlan, endpoint: Endpoint, data: dict) -> None:
    declared = _dedupe(data.get("jobs"), "id")
    plan.declared_jobs = len(declared)
    enabled: list[dict] = []
    disabled_slugs: set[str] = set()
    for slug, job in declared.items():
        problem = _job_problem(job)
        if problem:
            plan.errors.append(f'Job "{slug}": {problem}.')
        elif job.get("enabled", True):
            enabled.append(job)
        else:
            disabled_slugs.add(slug)

    # The endpoint's jobs: those whose `latest` version in this environment lives on this endpoint.
    latest_here = list(
        JobAlias.objects.filter(
            environment_id=endpoint.environment_id,
            name=LATEST_ALIAS,
            version__endpoint=endpoint,
            job__deleted_at__isnull=True,
        ).values_list("job_id", "job__slug", "version__status")
    )
    active_before = {job_id for job_id, _, status in latest_here if status == JobVersionStatus.ACTIVE}
    plan.snapshot.active_job_ids_before = active_before
    plan.active_jobs_before = len(active_before)
    candidates = {job_id: REASON_VANISHED for job_id, slug, _ in latest_here if slug not in declared}

    existing = dict(
        Job.objects.filter(project_id=endpoint.project_id, slug__in=list(declared)).values_list("slug", "id")
    )
    for slug in disabled_slugs:
        if slug in existing:
            candidates[existing[slug]] = REASON_ENABLED_FALSE

    if candidates:
        # #1041: every ACTIVE version on this endpoint, not only the declared one.
        rows = (
            JobVersion.objects.filter(
                endpoint=endpoint,
                environment_id=endpoint.environment_id,
                status=JobVersionStatus.ACTIVE,
                job_id__in=list(candidates),
            )
            .order_by("job__slug", "version")
            .values_list("id", "job_id", "job__slug", "version")
        )
        plan.jobs_to_disable = [
            JobToDisable(slug=slug, version=version, why=candidates[job_id], job_id=job_id, version_id=version_id)
            for version_id, job_id, slug, version in rows
        ]
    plan.jobs_to_register = [
        JobToRegister(
            slug=job["id"],
            version=job["version"],
            internal=bool(job.get("internal", False)),
            trigger_type=(job.get("trigger") or {}).get("type", ""),
            exists=job["id"] in existing,
            metadata=job,
        )
        for job in enabled
    ]


def _plan_sources(plan: RegistryPlan, endpoint: Endpoint, data: dict) -> None:
    declared = _dedupe(data.get("sources"), "key")
    for key, source in declared.items():
        problem = _source_problem(source, endpoint)
        if problem:
            plan.errors.append(f'Source "{key}": {problem}.')
        else:
            plan.sources_to_register.append(source)

    snapshot = plan.snapshot
    # Sources registered at run time by dynamic triggers are not declared in `sources[]`: never vanished.
    rows = (
        TriggerSource.objects.filter(environment_id=endpoint.environment_id)
        .filter(Q(key__in=list(declared)) | Q(endpoint=endpoint, dynamic_trigger__isnull=True, active=True))
        .order_by("key")
        .values("id", "key", "active", "source_registration_job_id", "secret_reference__key")
    )
    for row in rows:
        if row["key"] in declared:
            snapshot.sources[row["key"]] = row
        else:
            snapshot.vanished_source_ids.append(row["id"])
            plan.sources_to_deactivate.append(row["key"])
    if snapshot.sources:
        options = TriggerSourceOption.objects.filter(
            source_id__in=[row["id"] for row in snapshot.sources.values()]
        ).values_list("source_id", "name", "value", "registered")
        for source_id, name, value, registered in options:
            snapshot.options.setdefault(source_id, []).append((name, value, registered))


def _plan_dynamic(plan: RegistryPlan, endpoint: Endpoint, data: dict) -> None:
    declared = {
        DynamicTriggerType.EVENT: _dedupe(data.get("dynamicTriggers"), "id"),
        DynamicTriggerType.SCHEDULE: _dedupe(data.get("dynamicSchedules"), "id"),
    }
    register = {
        DynamicTriggerType.EVENT: plan.dynamic_triggers_to_register,
        DynamicTriggerType.SCHEDULE: plan.dynamic_schedules_to_register,
    }
    for kind, items in declared.items():
        label = "Dynamic trigger" if kind == DynamicTriggerType.EVENT else "Dynamic schedule"
        for slug, item in items.items():
            if _too_long(slug, DynamicTrigger, "slug"):
                plan.errors.append(f'{label} "{slug}": the id is too long.')
            else:
                register[kind].append(item)

    snapshot = plan.snapshot
    rows = DynamicTrigger.objects.filter(endpoint=endpoint).order_by("slug").values("id", "slug", "type", "active")
    for row in rows:
        if row["slug"] in declared.get(row["type"], {}):
            snapshot.dynamic_triggers[(row["slug"], row["type"])] = row
        elif not row["active"]:
            continue
        elif row["type"] == DynamicTriggerType.SCHEDULE:
            snapshot.vanished_dynamic_schedule_ids.append(row["id"])
            plan.dynamic_schedules_to_deactivate.append(row["slug"])
        else:
            snapshot.vanished_dynamic_trigger_ids.append(row["id"])
            plan.dynamic_triggers_to_deactivate.append(row["slug"])


def _plan_http_endpoints(plan: RegistryPlan, endpoint: Endpoint, data: dict) -> None:
    declared = _dedupe(data.get("httpEndpoints"), "id")
    for key, item in declared.items():
        if _too_long(key, TriggerHttpEndpoint, "key") or _too_long(
            item.get("source"), TriggerHttpEndpointEnvironment, "source"
        ):
            plan.errors.append(f'HTTP endpoint "{key}": the id or source is too long.')
        else:
            plan.http_endpoints_to_register.append(item)
    rows = (
        TriggerHttpEndpointEnvironment.objects.filter(endpoint=endpoint, active=True)
        .order_by("http_endpoint__key")
        .values_list("id", "http_endpoint__key")
    )
    for env_id, key in rows:
        if key not in declared:
            plan.snapshot.vanished_http_endpoint_env_ids.append(env_id)
            plan.http_endpoints_to_deactivate.append(key)


def _plan_webhooks(plan: RegistryPlan, endpoint: Endpoint, data: dict) -> None:
    declared = _dedupe(data.get("webhooks"), "key")
    snapshot = plan.snapshot
    http_keys = [(item.get("httpEndpoint") or {}).get("id") for item in declared.values()]
    rows = list(
        Webhook.objects.filter(project_id=endpoint.project_id)
        .filter(Q(key__in=list(declared)) | Q(http_endpoint__key__in=[key for key in http_keys if key]))
        .values("id", "key", "active", "http_endpoint_id", "http_endpoint__key", "integration_id")
    )
    owners = {row["http_endpoint__key"]: row["key"] for row in rows}
    snapshot.webhooks = {row["key"]: row for row in rows if row["key"] in declared}
    for key, item in declared.items():
        http_key = (item.get("httpEndpoint") or {}).get("id")
        owner = owners.get(http_key)
        if _too_long(key, Webhook, "key"):
            plan.errors.append(f'Webhook "{key}": the key is too long.')
        elif key not in snapshot.webhooks and owner is not None and owner != key:
            # Webhook.http_endpoint is one-to-one: a new webhook cannot take another one's endpoint.
            plan.errors.append(f'Webhook "{key}": HTTP endpoint "{http_key}" already belongs to webhook "{owner}".')
        else:
            if key not in snapshot.webhooks and http_key is not None:
                owners[http_key] = key
            plan.webhooks_to_register.append(item)
    rows = (
        WebhookEnvironment.objects.filter(endpoint=endpoint, active=True)
        .order_by("webhook__key")
        .values_list("id", "webhook__key")
    )
    for env_id, key in rows:
        if key not in declared:
            snapshot.vanished_webhook_env_ids.append(env_id)
            plan.webhooks_to_deactivate.append(key)


# ---------------------------------------------------------------------------------------------------
# Apply
# ---------------------------------------------------------------------------------------------------


def registry_apply(*, endpoint: Endpoint, plan: RegistryPlan) -> RegistryStats:
    """Write a plan in bulk, atomically; returns the index counters and the follow-up work."""
    if plan.endpoint_id != endpoint.id:
        raise ValueError("The plan was made for another endpoint.")
    with transaction.atomic():
        return _Apply(endpoint=endpoint, plan=plan).run()


class _Apply:
    """One apply. Phases run in the original's order where it matters: jobs before sources and
    dynamic triggers (they point at the internal registration job's version)."""

    def __init__(self, *, endpoint: Endpoint, plan: RegistryPlan) -> None:
        self.endpoint = endpoint
        self.environment: RuntimeEnvironment = endpoint.environment
        self.plan = plan
        self.snapshot = plan.snapshot
        self.now = timezone.now()
        self.stats = RegistryStats()
        for message in plan.errors:
            self._error(message)
        self.jobs = plan.jobs_to_register
        self.integration_ids: dict[str, str] = {}
        self.job_ids: dict[str, str] = {}  # slug -> id
        self.version_ids: dict[str, str] = {}  # slug -> registered version id
        self.registration_versions: dict[tuple[str, str], str] = {}  # (slug, version) -> version id
        self.changed_job_ids: set[str] = set()
        self.dynamic_trigger_ids: dict[tuple[str, str], str] = {}  # (slug, type) -> id
        self.scheduled_job_ids: list[str] = []
        self.disarm_filters: list[Q] = []
        self.rearm_dynamic_schedule_ids: list[str] = []

    def run(self) -> RegistryStats:
        self._integrations()
        self._jobs()
        self._versions()
        self._examples()
        self._job_integrations()
        self._disable_jobs()
        self._aliases()
        self._registration_jobs()
        self._dynamic_triggers()
        self._dispatchers_and_schedules()
        secret_references = self._secret_references()
        self._sources(secret_references)
        http_endpoint_ids = self._http_endpoints(secret_references)
        self._webhooks(http_endpoint_ids)
        self._schedule_follow_ups()
        return self.stats

    def _error(self, message: str) -> None:
        logger.warning("registry.item_skipped", extra={"endpoint_id": self.endpoint.id, "reason": message})
        self.stats.errors.append(message)

    # --- integrations -----------------------------------------------------------------------------

    def _integrations(self) -> None:
        """Jobs create a missing integration by its authSource and never change an existing one;
        sources upsert theirs (LOCAL/RESOLVER stored as LOCAL) after the jobs (§5.10)."""
        org_id = self.endpoint.organization_id
        definitions: dict[str, IntegrationDefinition] = {}
        created: dict[str, Integration] = {}

        def add_definition(metadata: dict) -> None:
            definitions.setdefault(
                metadata["id"],
                IntegrationDefinition(
                    id=metadata["id"],
                    name=_clip(metadata.get("name") or metadata["id"], IntegrationDefinition, "name"),
                    instructions=metadata.get("instructions"),
                ),
            )

        for job in self.jobs:
            for config in (job.metadata.get("integrations") or {}).values():
                add_definition(config["metadata"])
                if config["id"] in created:
                    continue  # sequential registration: the first job creates it
                auth = config.get("authSource")
                if auth == AuthSource.LOCAL or auth == AuthSource.RESOLVER:
                    created[config["id"]] = Integration(
                        slug=config["id"],
                        title=_clip(config["metadata"].get("name"), Integration, "title"),
                        auth_source=auth,
                        connection_type=(
                            ConnectionType.EXTERNAL if auth == AuthSource.RESOLVER else ConnectionType.DEVELOPER
                        ),
                        setup_status=SetupStatus.COMPLETE,
                        definition_id=config["metadata"]["id"],
                        organization_id=org_id,
                    )
                else:
                    created[config["id"]] = Integration(
                        slug=config["id"],
                        title=_clip(config["id"], Integration, "title"),
                        auth_source=AuthSource.HOSTED,
                        connection_type=ConnectionType.DEVELOPER,
                        setup_status=SetupStatus.MISSING_FIELDS,
                        definition_id=config["metadata"]["id"],
                        organization_id=org_id,
                    )

        upserted: dict[str, Integration] = {}
        for source in self.plan.sources_to_register:
            config = source["integration"]
            if config.get("authSource") == AuthSource.HOSTED:
                continue
            add_definition(config["metadata"])
            upserted[config["id"]] = Integration(
                slug=config["id"],
                title=_clip(config["metadata"].get("name"), Integration, "title"),
                auth_source=AuthSource.LOCAL,
                connection_type=ConnectionType.DEVELOPER,
                definition_id=config["metadata"]["id"],
                organization_id=org_id,
            )

        if definitions:
            IntegrationDefinition.objects.bulk_create(definitions.values(), ignore_conflicts=True)
        if created:
            Integration.objects.bulk_create(created.values(), ignore_conflicts=True)
        if upserted:
            Integration.objects.bulk_create(
                upserted.values(),
                update_conflicts=True,
                unique_fields=["organization", "slug"],
                update_fields=["title", "auth_source", "connection_type", "definition", "updated_at"],
            )
        wanted = set(created) | {source["integration"]["id"] for source in self.plan.sources_to_register}
        wanted |= {item["integration"]["id"] for item in self.plan.webhooks_to_register if item.get("integration")}
        if wanted:
            self.integration_ids = dict(
                Integration.objects.filter(organization_id=org_id, slug__in=wanted).values_list("slug", "id")
            )

    # --- jobs and versions ------------------------------------------------------------------------

    def _jobs(self) -> None:
        if not self.jobs:
            return
        Job.objects.bulk_create(
            [
                Job(
                    slug=job.slug,
                    title=_clip(job.metadata.get("name") or job.slug, Job, "title"),
                    internal=job.internal,
                    organization_id=self.endpoint.organization_id,
                    project_id=self.endpoint.project_id,
                    deleted_at=None,
                )
                for job in self.jobs
            ],
            update_conflicts=True,
            unique_fields=["project", "slug"],
            update_fields=["title", "internal", "deleted_at", "updated_at"],
        )
        self.job_ids = dict(
            Job.objects.filter(
                project_id=self.endpoint.project_id, slug__in=[job.slug for job in self.jobs]
            ).values_list("slug", "id")
        )

    def _concurrency_groups(self) -> dict[str, str]:
        groups: dict[str, ConcurrencyLimitGroup] = {}
        for job in self.jobs:
            limit = job.metadata.get("concurrencyLimit")
            if isinstance(limit, dict):
                groups[limit["id"]] = ConcurrencyLimitGroup(
                    name=limit["id"], concurrency_limit=limit["limit"], environment=self.environment
                )
        if not groups:
            return {}
        ConcurrencyLimitGroup.objects.bulk_create(
            groups.values(),
            update_conflicts=True,
            unique_fields=["environment", "name"],
            update_fields=["concurrency_limit", "updated_at"],
        )
        return dict(
            ConcurrencyLimitGroup.objects.filter(environment=self.environment, name__in=list(groups)).values_list(
                "name", "id"
            )
        )

    def _versions(self) -> None:
        if not self.jobs:
            return
        group_ids = self._concurrency_groups()
        versions = []
        for job in self.jobs:
            meta = job.metadata
            trigger = meta.get("trigger") or {}
            static = trigger.get("type") == "static"
            limit = meta.get("concurrencyLimit")
            versions.append(
                JobVersion(
                    version=job.version,
                    event_specification={k: v for k, v in (meta.get("event") or {}).items() if k != "examples"},
                    trigger=trigger,
                    properties=trigger.get("properties") if static else None,
                    trigger_link=trigger.get("link") if static else None,
                    trigger_help=trigger.get("help") if static else None,
                    job_id=self.job_ids[job.slug],
                    endpoint=self.endpoint,
                    environment=self.environment,
                    organization_id=self.endpoint.organization_id,
                    project_id=self.endpoint.project_id,
                    start_position=StartPosition.LATEST,
                    preprocess_runs=bool(meta.get("preprocessRuns", False)),
                    concurrency_limit=limit if _is_count(limit) else None,
                    concurrency_limit_group_id=group_ids.get(limit["id"]) if isinstance(limit, dict) else None,
                    status=JobVersionStatus.ACTIVE,
                )
            )
        JobVersion.objects.bulk_create(
            versions,
            update_conflicts=True,
            unique_fields=["job", "version", "environment"],
            update_fields=[
                "event_specification",
                "trigger",
                "properties",
                "trigger_link",
                "trigger_help",
                "endpoint",
                "start_position",
                "preprocess_runs",
                "concurrency_limit",
                "concurrency_limit_group",
                "status",
                "updated_at",
            ],
        )
        wanted = {(self.job_ids[job.slug], job.version): job.slug for job in self.jobs}
        rows = JobVersion.objects.filter(
            environment=self.environment,
            job_id__in=list(self.job_ids.values()),
            version__in=_unique(job.version for job in self.jobs),
        ).values_list("id", "job_id", "version")
        for version_id, job_id, version in rows:
            slug = wanted.get((job_id, version))
            if slug is not None:
                self.version_ids[slug] = version_id
                self.registration_versions[(slug, version)] = version_id
        self.stats.jobs = sum(1 for job in self.jobs if not job.internal)

    def _examples(self) -> None:
        if not self.jobs:
            return
        examples = []
        keep: set[str] = set()
        for job in self.jobs:
            version_id = self.version_ids[job.slug]
            declared = _dedupe((job.metadata.get("event") or {}).get("examples"), "id")
            for slug, example in declared.items():
                keep.add(_keyed(version_id, slug))
                examples.append(
                    EventExample(
                        slug=slug,
                        name=_clip(example.get("name") or slug, EventExample, "name"),
                        icon=_clip(example.get("icon"), EventExample, "icon"),
                        payload=example.get("payload"),
                        job_version_id=version_id,
                    )
                )
        if examples:
            EventExample.objects.bulk_create(
                examples,
                update_conflicts=True,
                unique_fields=["slug", "job_version"],
                update_fields=["name", "icon", "payload", "updated_at"],
            )
        _delete_unlisted(
            EventExample.objects.filter(job_version_id__in=list(self.version_ids.values())),
            ["job_version_id", "slug"],
            keep,
        )

    def _job_integrations(self) -> None:
        if not self.jobs:
            return
        links = []
        keep: set[str] = set()
        for job in self.jobs:
            version_id = self.version_ids[job.slug]
            for key, config in (job.metadata.get("integrations") or {}).items():
                keep.add(_keyed(version_id, key))
                links.append(
                    JobIntegration(
                        key=key,
                        version_id=version_id,
                        job_id=self.job_ids[job.slug],
                        integration_id=self.integration_ids[config["id"]],
                    )
                )
        if links:
            JobIntegration.objects.bulk_create(
                links,
                update_conflicts=True,
                unique_fields=["version", "key"],
                update_fields=["integration", "updated_at"],
            )
        _delete_unlisted(
            JobIntegration.objects.filter(version_id__in=list(self.version_ids.values())),
            ["version_id", "key"],
            keep,
        )

    # --- disabling ----------------------------------------------------------------------------------

    def _disable_jobs(self) -> None:
        """`enabled:false` and vanished jobs: their ACTIVE versions on this endpoint, the job's
        dispatcher when it points at one of them, and the job's schedule on this endpoint."""
        planned = [item.version_id for item in self.plan.jobs_to_disable]
        if not planned:
            return
        rows = list(
            JobVersion.objects.select_for_update()
            .filter(id__in=planned, endpoint=self.endpoint, status=JobVersionStatus.ACTIVE)
            .values_list("id", "job_id")
        )
        if not rows:
            return
        version_ids = [version_id for version_id, _ in rows]
        self.changed_job_ids = {job_id for _, job_id in rows}
        JobVersion.objects.filter(id__in=version_ids).update(status=JobVersionStatus.DISABLED, updated_at=self.now)
        EventDispatcher.objects.filter(
            environment=self.environment,
            dispatchable_id__in=list(self.changed_job_ids),
            dispatchable__id__in=version_ids,
        ).update(enabled=False, updated_at=self.now)
        self.disarm_filters.append(Q(key__in=list(self.changed_job_ids), endpoint=self.endpoint))
        self.stats.disabled_jobs = len(self.changed_job_ids)

    def _aliases(self) -> None:
        """`latest` = highest ACTIVE version by semver order; untouched when none is ACTIVE."""
        job_ids = set(self.job_ids.values()) | self.changed_job_ids
        if not job_ids:
            return
        best: dict[str, tuple[str, str]] = {}
        rows = JobVersion.objects.filter(
            environment=self.environment, job_id__in=list(job_ids), status=JobVersionStatus.ACTIVE
        ).values_list("job_id", "id", "version")
        for job_id, version_id, version in rows:
            current = best.get(job_id)
            if current is None or version_key(version) > version_key(current[1]):
                best[job_id] = (version_id, version)
        if not best:
            return
        JobAlias.objects.bulk_create(
            [
                JobAlias(
                    name=LATEST_ALIAS,
                    value=version,
                    version_id=version_id,
                    job_id=job_id,
                    environment=self.environment,
                )
                for job_id, (version_id, version) in sorted(best.items())
            ],
            update_conflicts=True,
            unique_fields=["job", "environment", "name"],
            update_fields=["value", "version", "updated_at"],
        )

    # --- registration jobs, dynamic triggers and schedules -----------------------------------------

    def _registration_jobs(self) -> None:
        """Resolve `registerSourceJob` references that this index did not register itself."""
        refs = [item.get("registerSourceJob") for item in self.plan.sources_to_register]
        refs += [item.get("registerSourceJob") for item in self.plan.dynamic_triggers_to_register]
        missing = {
            (ref["id"], ref["version"])
            for ref in refs
            if ref and (ref["id"], ref["version"]) not in self.registration_versions
        }
        if not missing:
            return
        rows = JobVersion.objects.filter(
            environment=self.environment,
            job__project_id=self.endpoint.project_id,
            job__slug__in=_unique(slug for slug, _ in missing),
            version__in=_unique(version for _, version in missing),
        ).values_list("id", "job__slug", "version")
        for version_id, slug, version in rows:
            if (slug, version) in missing:
                self.registration_versions[(slug, version)] = version_id

    def _registration_version(self, item: dict, label: str) -> str | None:
        ref = item.get("registerSourceJob")
        if not ref:
            return None
        version_id = self.registration_versions.get((ref["id"], ref["version"]))
        if version_id is None:
            self._error(f'{label}: registration job "{ref["id"]}" version {ref["version"]} is not registered.')
        return version_id

    def _dynamic_triggers(self) -> None:
        triggers = self.plan.dynamic_triggers_to_register
        schedules = self.plan.dynamic_schedules_to_register
        snapshot = self.snapshot
        if snapshot.vanished_dynamic_trigger_ids or snapshot.vanished_dynamic_schedule_ids:
            vanished = snapshot.vanished_dynamic_trigger_ids + snapshot.vanished_dynamic_schedule_ids
            DynamicTrigger.objects.filter(id__in=vanished).update(active=False, updated_at=self.now)
        if snapshot.vanished_dynamic_schedule_ids:
            EventDispatcher.objects.filter(
                environment=self.environment, dispatchable_id__in=snapshot.vanished_dynamic_schedule_ids
            ).update(enabled=False, updated_at=self.now)
            self.disarm_filters.append(Q(dynamic_trigger_id__in=snapshot.vanished_dynamic_schedule_ids))
        if not triggers and not schedules:
            return

        rows = [
            DynamicTrigger(
                type=DynamicTriggerType.EVENT,
                slug=item["id"],
                endpoint=self.endpoint,
                source_registration_job_id=self._registration_version(item, f'Dynamic trigger "{item["id"]}"'),
                active=True,
            )
            for item in triggers
        ] + [
            DynamicTrigger(type=DynamicTriggerType.SCHEDULE, slug=item["id"], endpoint=self.endpoint, active=True)
            for item in schedules
        ]
        DynamicTrigger.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["endpoint", "slug", "type"],
            update_fields=["source_registration_job", "active", "updated_at"],
        )
        ids = self.dynamic_trigger_ids = {
            (slug, kind): dt_id
            for dt_id, slug, kind in DynamicTrigger.objects.filter(
                endpoint=self.endpoint, slug__in=_unique(row.slug for row in rows)
            ).values_list("id", "slug", "type")
        }

        # Jobs: exactly the declared ones that have a version on this endpoint.
        declared: list[tuple[str, list[dict]]] = [
            (ids[(item["id"], DynamicTriggerType.EVENT)], item.get("jobs") or []) for item in triggers
        ] + [(ids[(item["id"], DynamicTriggerType.SCHEDULE)], item.get("jobs") or []) for item in schedules]
        slugs = _unique(ref["id"] for _, refs in declared for ref in refs)
        on_endpoint = (
            dict(
                Job.objects.filter(
                    project_id=self.endpoint.project_id, slug__in=slugs, versions__endpoint=self.endpoint
                )
                .distinct()
                .values_list("slug", "id")
            )
            if slugs
            else {}
        )
        through = DynamicTrigger.jobs.through
        links = {
            _keyed(dt_id, on_endpoint[ref["id"]]): through(dynamictrigger_id=dt_id, job_id=on_endpoint[ref["id"]])
            for dt_id, refs in declared
            for ref in refs
            if ref["id"] in on_endpoint
        }
        _delete_unlisted(
            through.objects.filter(dynamictrigger_id__in=[dt_id for dt_id, _ in declared]),
            ["dynamictrigger_id", "job_id"],
            set(links),
        )
        if links:
            through.objects.bulk_create(links.values(), ignore_conflicts=True)

        # A dynamic schedule that comes back gets the schedules it had before it vanished.
        self.rearm_dynamic_schedule_ids = [
            ids[(item["id"], DynamicTriggerType.SCHEDULE)]
            for item in schedules
            if (item["id"], DynamicTriggerType.SCHEDULE) in self.snapshot.dynamic_triggers
            and not self.snapshot.dynamic_triggers[(item["id"], DynamicTriggerType.SCHEDULE)]["active"]
        ]
        self.stats.dynamic_triggers = len(triggers)
        self.stats.dynamic_schedules = len(schedules)

    # --- dispatchers and schedule sources ------------------------------------------------------------

    def _dispatchers_and_schedules(self) -> None:
        dispatchers = []
        scheduled: list[JobToRegister] = []
        for job in self.jobs:
            trigger = job.metadata.get("trigger") or {}
            job_id = self.job_ids[job.slug]
            dispatchable = {"type": "JOB_VERSION", "id": self.version_ids[job.slug]}
            if trigger.get("type") == "static":
                rule = trigger.get("rule") or {}
                dispatchers.append(
                    EventDispatcher(
                        event=_as_list(rule.get("event")),
                        source=rule.get("source") or SCHEDULED_SOURCE,
                        payload_filter=rule.get("payload"),
                        context_filter=rule.get("context"),
                        manual=False,
                        dispatchable_id=job_id,
                        dispatchable=dispatchable,
                        enabled=True,
                        environment=self.environment,
                    )
                )
            elif trigger.get("type") == "scheduled":
                scheduled.append(job)
                dispatchers.append(self._scheduled_dispatcher(job_id, dispatchable))
        for item in self.plan.dynamic_schedules_to_register:
            dt_id = self.dynamic_trigger_ids[(item["id"], DynamicTriggerType.SCHEDULE)]
            dispatchers.append(self._scheduled_dispatcher(dt_id, {"type": "DYNAMIC_TRIGGER", "id": dt_id}))
        if dispatchers:
            EventDispatcher.objects.bulk_create(
                dispatchers,
                update_conflicts=True,
                unique_fields=["dispatchable_id", "environment"],
                update_fields=[
                    "event",
                    "source",
                    "payload_filter",
                    "context_filter",
                    "manual",
                    "dispatchable",
                    "enabled",
                    "updated_at",
                ],
            )

        # A job that stopped being scheduled must stop receiving its schedule.
        scheduled_slugs = {job.slug for job in scheduled}
        unscheduled = [self.job_ids[job.slug] for job in self.jobs if job.slug not in scheduled_slugs]
        if unscheduled:
            self.disarm_filters.append(Q(key__in=unscheduled, endpoint=self.endpoint))
        if not scheduled:
            return
        dispatcher_ids = dict(
            EventDispatcher.objects.filter(
                environment=self.environment,
                dispatchable_id__in=[self.job_ids[job.slug] for job in scheduled],
            ).values_list("dispatchable_id", "id")
        )
        active = self.environment.auto_enable_internal_sources
        sources = []
        for job in scheduled:
            schedule = job.metadata["trigger"].get("schedule") or {}
            job_id = self.job_ids[job.slug]
            sources.append(
                ScheduleSource(
                    key=job_id,
                    schedule=_schedule_for_source(schedule),
                    environment=self.environment,
                    endpoint=self.endpoint,
                    dispatcher_id=dispatcher_ids[job_id],
                    active=active,
                    metadata=schedule.get("metadata"),
                    account_id=schedule.get("accountId"),
                )
            )
        ScheduleSource.objects.bulk_create(
            sources,
            update_conflicts=True,
            unique_fields=["key", "environment"],
            update_fields=[
                "schedule",
                "endpoint",
                "dispatcher",
                "active",
                "metadata",
                "account_id",
                "updated_at",
            ],
        )
        self.scheduled_job_ids = [self.job_ids[job.slug] for job in scheduled]

    def _scheduled_dispatcher(self, dispatchable_id: str, dispatchable: dict) -> EventDispatcher:
        return EventDispatcher(
            event=[SCHEDULED_EVENT],
            source=SCHEDULED_SOURCE,
            payload_filter={},
            context_filter={},
            manual=True,
            dispatchable_id=dispatchable_id,
            dispatchable=dispatchable,
            enabled=True,
            environment=self.environment,
        )

    def _schedule_follow_ups(self) -> None:
        """Deactivate schedules collected above, re-activate returning dynamic schedules, and tell the
        caller which schedules to (re)arm and disarm."""
        follow_ups = self.stats.follow_ups
        if self.disarm_filters:
            condition = Q()
            for item in self.disarm_filters:
                condition |= item
            base = ScheduleSource.objects.filter(environment=self.environment, active=True)
            disarm = list(base.filter(condition).values_list("id", flat=True))
            if disarm:
                ScheduleSource.objects.filter(id__in=disarm).update(active=False, updated_at=self.now)
            follow_ups.schedules_to_disarm = sorted(disarm)
        arm_condition = Q()
        if self.rearm_dynamic_schedule_ids and self.environment.auto_enable_internal_sources:
            ScheduleSource.objects.filter(dynamic_trigger_id__in=self.rearm_dynamic_schedule_ids).update(
                active=True, updated_at=self.now
            )
            arm_condition |= Q(dynamic_trigger_id__in=self.rearm_dynamic_schedule_ids)
        if self.scheduled_job_ids:
            arm_condition |= Q(key__in=self.scheduled_job_ids)
        if arm_condition:
            follow_ups.schedules_to_arm = sorted(
                ScheduleSource.objects.filter(arm_condition, environment=self.environment, active=True).values_list(
                    "id", flat=True
                )
            )

    # --- secrets, sources ------------------------------------------------------------------------------

    def _secret_references(self) -> dict[str, str]:
        """SecretReference ids by key for sources and HTTP endpoints; secrets for HTTP channels
        are created once and never overwritten."""
        keys: list[str] = []
        secret_keys: list[str] = []
        for source in self.plan.sources_to_register:
            existing = self.snapshot.sources.get(source["key"])
            key = existing["secret_reference__key"] if existing else f"{self.endpoint.id}:{source['key']}"
            keys.append(key)
            if source.get("channel", TriggerChannel.HTTP) == TriggerChannel.HTTP:
                secret_keys.append(key)
        for item in self.plan.http_endpoints_to_register:
            key = self._http_secret_key(item["id"])
            keys.append(key)
            secret_keys.append(key)
        if not keys:
            return {}
        SecretReference.objects.bulk_create(
            [SecretReference(key=key, provider="DATABASE") for key in _unique(keys)], ignore_conflicts=True
        )
        if secret_keys:
            SecretStore.objects.bulk_create(
                [SecretStore(key=key, value={"secret": _new_secret()}) for key in _unique(secret_keys)],
                ignore_conflicts=True,
            )
        return dict(SecretReference.objects.filter(key__in=_unique(keys)).values_list("key", "id"))

    def _http_secret_key(self, http_endpoint_id: str) -> str:
        return f"httpendpoint:{self.endpoint.project_id}:{http_endpoint_id}"

    def _sources(self, secret_references: dict[str, str]) -> None:
        snapshot = self.snapshot
        if snapshot.vanished_source_ids:
            TriggerSource.objects.filter(id__in=snapshot.vanished_source_ids, active=True).update(
                active=False, updated_at=self.now
            )
        registered: list[dict] = []
        rows: list[TriggerSource] = []
        for source in self.plan.sources_to_register:
            key = source["key"]
            config = source["integration"]
            integration_id = self.integration_ids.get(config["id"])
            if integration_id is None:
                self._error(f'Source "{key}": Integration not found.')
                continue
            existing = snapshot.sources.get(key)
            secret_key = existing["secret_reference__key"] if existing else f"{self.endpoint.id}:{key}"
            registration = self._registration_version(source, f'Source "{key}"')
            if registration is None and existing:
                registration = existing["source_registration_job_id"]
            version = "2" if str(source.get("version", "1")) == "2" else "1"
            rows.append(
                TriggerSource(
                    key=key,
                    params=source.get("params"),
                    channel=source.get("channel", TriggerChannel.HTTP),
                    version=version,
                    secret_reference_id=secret_references[secret_key],
                    organization_id=self.endpoint.organization_id,
                    environment=self.environment,
                    endpoint=self.endpoint,
                    project_id=self.endpoint.project_id,
                    integration_id=integration_id,
                    source_registration_job_id=registration,
                )
            )
            registered.append(source)
        if not rows:
            return
        # Params are not updated and `active` is the sources service's business (§5.10).
        TriggerSource.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["key", "environment"],
            update_fields=["version", "endpoint", "integration", "source_registration_job", "updated_at"],
        )
        source_ids = dict(
            TriggerSource.objects.filter(
                environment=self.environment, key__in=[source["key"] for source in registered]
            ).values_list("key", "id")
        )

        options = []
        keep_v2: set[str] = set()
        v2_ids = []
        for source in registered:
            source_id = source_ids[source["key"]]
            is_v2 = str(source.get("version", "1")) == "2"
            if is_v2:
                v2_ids.append(source_id)
            desired = _source_options(source)
            for name, values in desired.items():
                for value in values:
                    options.append(TriggerSourceOption(name=name, value=value, source_id=source_id))
                    if is_v2:
                        keep_v2.add(_keyed(source_id, name, value))
            self._source_follow_up(source, source_id, desired, is_v2)
        if options:
            TriggerSourceOption.objects.bulk_create(options, ignore_conflicts=True)
        if v2_ids:
            _delete_unlisted(
                TriggerSourceOption.objects.filter(source_id__in=v2_ids),
                ["source_id", "name", "value"],
                keep_v2,
            )
        self.stats.sources = len(registered)

    def _source_follow_up(self, source: dict, source_id: str, desired: dict[str, list[str]], is_v2: bool) -> None:
        """activateSource is needed when the source is inactive, lost options, or has options that the
        integration has not registered yet (RegisterSourceServiceV1/V2)."""
        existing = self.snapshot.sources.get(source["key"])
        previous = self.snapshot.options.get(existing["id"], []) if existing and existing["id"] == source_id else []
        wanted = {(name, value) for name, values in desired.items() for value in values}
        registered = {(name, value) for name, value, done in previous if done}
        orphans: dict[str, list[str]] = defaultdict(list)
        for name, value, _ in previous:
            if (name, value) not in wanted:
                orphans[name].append(value)
        unregistered = any(pair not in registered for pair in wanted)
        active = bool(existing and existing["active"])
        if active and not orphans and not unregistered:
            return
        payload: dict[str, Any] = {"version": "2" if is_v2 else "1", "id": source_id}
        if is_v2:
            payload["orphanedOptions"] = {name: sorted(values) for name, values in sorted(orphans.items())}
        else:
            payload["orphanedEvents"] = sorted(orphans.get("event", []))
        self.stats.follow_ups.source_activations.append(payload)

    # --- HTTP endpoints and webhooks ---------------------------------------------------------------------

    def _http_endpoints(self, secret_references: dict[str, str]) -> dict[str, str]:
        if self.snapshot.vanished_http_endpoint_env_ids:
            TriggerHttpEndpointEnvironment.objects.filter(
                id__in=self.snapshot.vanished_http_endpoint_env_ids, active=True
            ).update(active=False, updated_at=self.now)
        items = self.plan.http_endpoints_to_register
        if items:
            TriggerHttpEndpoint.objects.bulk_create(
                [
                    TriggerHttpEndpoint(
                        key=item["id"],
                        title=_clip(item.get("title"), TriggerHttpEndpoint, "title"),
                        icon=_clip(item.get("icon"), TriggerHttpEndpoint, "icon"),
                        properties=item.get("properties"),
                        secret_reference_id=secret_references[self._http_secret_key(item["id"])],
                        project_id=self.endpoint.project_id,
                    )
                    for item in items
                ],
                update_conflicts=True,
                unique_fields=["key", "project"],
                update_fields=["title", "icon", "properties", "updated_at"],
            )
        keys = [item["id"] for item in items]
        keys += [(item.get("httpEndpoint") or {}).get("id") for item in self.plan.webhooks_to_register]
        keys = _unique(key for key in keys if key)
        if not keys:
            return {}
        ids = dict(
            TriggerHttpEndpoint.objects.filter(project_id=self.endpoint.project_id, key__in=keys).values_list(
                "key", "id"
            )
        )
        if items:
            TriggerHttpEndpointEnvironment.objects.bulk_create(
                [
                    TriggerHttpEndpointEnvironment(
                        active=bool(item.get("enabled", True)),
                        immediate_response_filter=item.get("immediateResponseFilter"),
                        skip_triggering_runs=bool(item.get("skipTriggeringRuns", False)),
                        source=item.get("source") or "",
                        environment=self.environment,
                        endpoint=self.endpoint,
                        http_endpoint_id=ids[item["id"]],
                    )
                    for item in items
                ],
                update_conflicts=True,
                unique_fields=["environment", "http_endpoint"],
                update_fields=[
                    "active",
                    "immediate_response_filter",
                    "skip_triggering_runs",
                    "source",
                    "endpoint",
                    "updated_at",
                ],
            )
        self.stats.http_endpoints = len(items)
        return ids

    def _webhooks(self, http_endpoint_ids: dict[str, str]) -> None:
        if self.snapshot.vanished_webhook_env_ids:
            WebhookEnvironment.objects.filter(id__in=self.snapshot.vanished_webhook_env_ids, active=True).update(
                active=False, updated_at=self.now
            )
        rows: list[Webhook] = []
        configs: dict[str, Any] = {}
        for item in self.plan.webhooks_to_register:
            key = item["key"]
            existing = self.snapshot.webhooks.get(key)
            if existing:
                # The update changes params only; keep the links so no other unique index can trip.
                http_endpoint_id, integration_id = existing["http_endpoint_id"], existing["integration_id"]
            else:
                http_endpoint_id = http_endpoint_ids.get((item.get("httpEndpoint") or {}).get("id"))
                integration_id = self.integration_ids.get((item.get("integration") or {}).get("id"))
                if http_endpoint_id is None or integration_id is None:
                    what = "HTTP endpoint" if http_endpoint_id is None else "Integration"
                    self._error(f'Webhook "{key}": {what} not found.')
                    continue
            rows.append(
                Webhook(
                    key=key,
                    params=item.get("params"),
                    http_endpoint_id=http_endpoint_id,
                    project_id=self.endpoint.project_id,
                    integration_id=integration_id,
                )
            )
            configs[key] = item.get("config")
        if not rows:
            return
        Webhook.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["key", "project"],
            update_fields=["params", "updated_at"],
        )
        webhooks = {
            key: (webhook_id, active)
            for webhook_id, key, active in Webhook.objects.filter(
                project_id=self.endpoint.project_id, key__in=list(configs)
            ).values_list("id", "key", "active")
        }
        WebhookEnvironment.objects.bulk_create(
            [
                WebhookEnvironment(
                    desired_config=configs[key],
                    endpoint=self.endpoint,
                    environment=self.environment,
                    webhook_id=webhooks[key][0],
                )
                for key in configs
            ],
            update_conflicts=True,
            unique_fields=["environment", "webhook"],
            update_fields=["desired_config", "endpoint", "updated_at"],
        )
        active_by_webhook = {webhook_id: active for webhook_id, active in webhooks.values()}
        environments = WebhookEnvironment.objects.filter(
            environment=self.environment, webhook_id__in=list(active_by_webhook)
        ).values_list("id", "webhook_id", "active", "config", "desired_config")
        # Registered with the integration already, with the config it wants: nothing to do.
        self.stats.follow_ups.webhooks_to_register = sorted(
            env_id
            for env_id, webhook_id, active, config, desired in environments
            if not (active_by_webhook[webhook_id] and active and config == desired)
        )
        self.stats.webhooks = len(rows)
