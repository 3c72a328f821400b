"""The plan: read-only, a constant number of SELECTs whatever the document's size. It decides what
to register, disable and deactivate, and keeps what it read (`Snapshot`) so the apply does not
read it again."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.db.models import Q, Value

from endpoints.models import (
    DynamicTrigger,
    DynamicTriggerType,
    Endpoint,
    Job,
    JobAlias,
    JobVersion,
    JobVersionStatus,
    TriggerHttpEndpoint,
    TriggerHttpEndpointEnvironment,
    TriggerSource,
    TriggerSourceOption,
    Webhook,
    WebhookEnvironment,
)
from endpoints.services.registry.columns import job_problem, source_problem, too_long
from endpoints.services.registry.document import dedupe, http_endpoint_key
from endpoints.services.registry.ignored import disabled_job_not_registered, duplicate_warnings

LATEST_ALIAS = "latest"
REASON_ENABLED_FALSE = "enabled_false"
REASON_VANISHED = "vanished"


@dataclass(frozen=True)
class JobToRegister:
    slug: str
    version: str
    internal: bool
    trigger_type: str
    exists: bool  # a Job row with this slug exists in the project (possibly soft-deleted)
    metadata: dict[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True)
class JobToDisable:
    slug: str
    version: str
    why: str  # REASON_ENABLED_FALSE | REASON_VANISHED
    job_id: str
    version_id: str


@dataclass
class Snapshot:
    """What the plan read and the apply needs again (ids and previous state)."""

    active_job_ids_before: set[str] = field(default_factory=set)
    sources: dict[str, Mapping[str, Any]] = field(default_factory=dict)  # declared key -> existing row
    options: dict[str, list[tuple[str, str, bool]]] = field(default_factory=dict)  # source id -> options
    vanished_source_ids: list[str] = field(default_factory=list)
    dynamic_triggers: dict[tuple[str, str], Mapping[str, Any]] = field(default_factory=dict)  # (slug, type) -> row
    vanished_dynamic_trigger_ids: list[str] = field(default_factory=list)
    vanished_dynamic_schedule_ids: list[str] = field(default_factory=list)
    vanished_http_endpoint_env_ids: list[str] = field(default_factory=list)
    webhooks: dict[str, Mapping[str, Any]] = field(default_factory=dict)  # declared key -> existing row
    vanished_webhook_env_ids: list[str] = field(default_factory=list)


@dataclass
class RegistryPlan:
    """What `registry_apply` will write and disable for one index document of one endpoint."""

    endpoint_id: str
    environment_id: str
    declared_jobs: int = 0
    jobs_to_register: list[JobToRegister] = field(default_factory=list)
    jobs_to_disable: list[JobToDisable] = field(default_factory=list)
    active_jobs_before: int = 0
    sources_to_register: list[dict[str, Any]] = field(default_factory=list)
    sources_to_deactivate: list[str] = field(default_factory=list)
    dynamic_triggers_to_register: list[dict[str, Any]] = field(default_factory=list)
    dynamic_triggers_to_deactivate: list[str] = field(default_factory=list)
    dynamic_schedules_to_register: list[dict[str, Any]] = field(default_factory=list)
    dynamic_schedules_to_deactivate: list[str] = field(default_factory=list)
    http_endpoints_to_register: list[dict[str, Any]] = field(default_factory=list)
    http_endpoints_to_deactivate: list[str] = field(default_factory=list)
    webhooks_to_register: list[dict[str, Any]] = field(default_factory=list)
    webhooks_to_deactivate: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # What the document declares that nothing is done with (see `ignored`); items in `errors` join
    # them as ITEM_SKIPPED in the apply's stats.
    warnings: list[dict[str, Any]] = field(default_factory=list)
    snapshot: Snapshot = field(default_factory=Snapshot, repr=False)

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


def registry_plan(*, endpoint: Endpoint, data: dict[str, Any]) -> RegistryPlan:
    """Read-only, a constant number of SELECTs: what `registry_apply` would register, disable and
    deactivate. Call it in the same transaction as the apply for an exact picture."""
    plan = RegistryPlan(endpoint_id=endpoint.id, environment_id=endpoint.environment_id)
    plan.warnings = duplicate_warnings(data)
    _plan_jobs(plan, endpoint, data)
    _plan_sources(plan, endpoint, data)
    _plan_dynamic(plan, endpoint, data)
    active_here = _active_environment_rows(endpoint)
    _plan_http_endpoints(plan, endpoint, data, active_here[HTTP])
    _plan_webhooks(plan, endpoint, data, active_here[WEBHOOK])
    return plan


def _plan_jobs(plan: RegistryPlan, endpoint: Endpoint, data: dict[str, Any]) -> None:
    declared = dedupe(data.get("jobs"), "id")
    plan.declared_jobs = len(declared)
    enabled: list[dict[str, Any]] = []
    disabled: dict[str, dict[str, Any]] = {}
    for slug, job in declared.items():
        problem = job_problem(job)
        if problem:
            plan.errors.append(f'Job "{slug}": {problem}.')
        elif job.get("enabled", True):
            enabled.append(job)
        else:
            disabled[slug] = job

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
        Job.objects.filter(project_id=endpoint.project_id, slug__anyof=list(declared)).values_list("slug", "id")
    )
    for slug, job in disabled.items():
        if slug in existing:
            candidates[existing[slug]] = REASON_ENABLED_FALSE
        else:
            plan.warnings.append(disabled_job_not_registered(job))

    if candidates:
        # #1041: every ACTIVE version on this endpoint, not only the declared one.
        rows = (
            JobVersion.objects.filter(
                endpoint=endpoint,
                environment_id=endpoint.environment_id,
                status=JobVersionStatus.ACTIVE,
                job_id__anyof=list(candidates),
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


def _plan_sources(plan: RegistryPlan, endpoint: Endpoint, data: dict[str, Any]) -> None:
    declared = dedupe(data.get("sources"), "key")
    for key, source in declared.items():
        problem = source_problem(source, endpoint)
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


def _plan_dynamic(plan: RegistryPlan, endpoint: Endpoint, data: dict[str, Any]) -> None:
    declared: dict[str, dict[str, dict[str, Any]]] = {
        DynamicTriggerType.EVENT: dedupe(data.get("dynamicTriggers"), "id"),
        DynamicTriggerType.SCHEDULE: dedupe(data.get("dynamicSchedules"), "id"),
    }
    register: dict[str, list[dict[str, Any]]] = {
        DynamicTriggerType.EVENT: plan.dynamic_triggers_to_register,
        DynamicTriggerType.SCHEDULE: plan.dynamic_schedules_to_register,
    }
    for kind, items in declared.items():
        label = "Dynamic trigger" if kind == DynamicTriggerType.EVENT else "Dynamic schedule"
        for slug, item in items.items():
            if too_long(slug, DynamicTrigger, "slug"):
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


def _plan_http_endpoints(
    plan: RegistryPlan, endpoint: Endpoint, data: dict[str, Any], active_here: list[tuple[str, str]]
) -> None:
    declared = dedupe(data.get("httpEndpoints"), "id")
    for key, item in declared.items():
        if too_long(key, TriggerHttpEndpoint, "key") or too_long(
            item.get("source"), TriggerHttpEndpointEnvironment, "source"
        ):
            plan.errors.append(f'HTTP endpoint "{key}": the id or source is too long.')
        else:
            plan.http_endpoints_to_register.append(item)
    for env_id, key in _vanished(active_here, declared):
        plan.snapshot.vanished_http_endpoint_env_ids.append(env_id)
        plan.http_endpoints_to_deactivate.append(key)


def _plan_webhooks(
    plan: RegistryPlan, endpoint: Endpoint, data: dict[str, Any], active_here: list[tuple[str, str]]
) -> None:
    declared = dedupe(data.get("webhooks"), "key")
    snapshot = plan.snapshot
    http_keys = [http_endpoint_key(item) for item in declared.values()]
    rows = list(
        Webhook.objects.filter(project_id=endpoint.project_id)
        .filter(Q(key__in=list(declared)) | Q(http_endpoint__key__in=[key for key in http_keys if key]))
        .values("id", "key", "active", "http_endpoint_id", "http_endpoint__key", "integration_id")
    )
    owners: dict[str | None, str] = {row["http_endpoint__key"]: row["key"] for row in rows}
    snapshot.webhooks = {row["key"]: row for row in rows if row["key"] in declared}
    for key, item in declared.items():
        http_key = http_endpoint_key(item)
        owner = owners.get(http_key)
        if too_long(key, Webhook, "key"):
            plan.errors.append(f'Webhook "{key}": the key is too long.')
        elif key not in snapshot.webhooks and owner is not None and owner != key:
            # Webhook.http_endpoint is one-to-one: a new webhook cannot take another one's endpoint.
            plan.errors.append(f'Webhook "{key}": HTTP endpoint "{http_key}" already belongs to webhook "{owner}".')
        else:
            if key not in snapshot.webhooks and http_key is not None:
                owners[http_key] = key
            plan.webhooks_to_register.append(item)
    for env_id, key in _vanished(active_here, declared):
        snapshot.vanished_webhook_env_ids.append(env_id)
        plan.webhooks_to_deactivate.append(key)


HTTP, WEBHOOK = "http", "webhook"


def _active_environment_rows(endpoint: Endpoint) -> dict[str, list[tuple[str, str]]]:
    """(id, key) of this endpoint's active HTTP endpoint and webhook environment rows, by key: one query."""
    kind = Value(HTTP, output_field=models.CharField())
    http = TriggerHttpEndpointEnvironment.objects.filter(endpoint=endpoint, active=True).values_list(
        "id", "http_endpoint__key", kind
    )
    kind = Value(WEBHOOK, output_field=models.CharField())
    hooks = WebhookEnvironment.objects.filter(endpoint=endpoint, active=True).values_list("id", "webhook__key", kind)
    rows: dict[str, list[tuple[str, str]]] = {HTTP: [], WEBHOOK: []}
    for row_id, key, which in sorted(http.union(hooks, all=True), key=lambda row: (row[2], row[1])):
        rows[which].append((row_id, key))
    return rows


def _vanished(active_here: list[tuple[str, str]], declared: dict[str, Any]) -> list[tuple[str, str]]:
    """(id, key) of this endpoint's active per-environment rows that the document no longer declares."""
    return [(row_id, key) for row_id, key in active_here if key not in declared]
