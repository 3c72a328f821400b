"""Jobs, their versions, examples and integration links, disabling, and the `latest` alias."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from endpoints.models import (
    ConcurrencyLimitGroup,
    EventDispatcher,
    EventExample,
    Job,
    JobAlias,
    JobIntegration,
    JobVersion,
    JobVersionStatus,
)
from endpoints.models.registry import StartPosition
from endpoints.services.registry.bulk import keyed, unique
from endpoints.services.registry.columns import clip, is_count
from endpoints.services.registry.context import ApplyContext
from endpoints.services.registry.document import dedupe
from endpoints.services.registry.plan import LATEST_ALIAS
from endpoints.services.semver import version_key


def register_jobs(ctx: ApplyContext) -> None:
    """Upsert the jobs (un-deleting soft-deleted ones) and resolve their ids."""
    if not ctx.jobs:
        return
    ctx.job_ids = ctx.upsert(
        Job,
        [
            {
                "slug": job.slug,
                "title": clip(job.metadata.get("name") or job.slug, Job, "title"),
                "internal": job.internal,
                "organization_id": ctx.endpoint.organization_id,
                "project_id": ctx.endpoint.project_id,
                "deleted_at": None,
            }
            for job in ctx.jobs
        ],
        on=["project", "slug"],
        update=["title", "internal", "deleted_at"],
        new=not any(job.exists for job in ctx.jobs),  # as the plan read them, in this transaction
    ).by_last()


def register_versions(ctx: ApplyContext) -> None:
    """Upsert the declared versions as ACTIVE on this endpoint (with their concurrency groups)."""
    if not ctx.jobs:
        return
    group_ids = _concurrency_groups(ctx)
    versions = []
    for job in ctx.jobs:
        meta = job.metadata
        trigger = meta.get("trigger") or {}
        static = trigger.get("type") == "static"
        limit = meta.get("concurrencyLimit")
        versions.append(
            {
                "version": job.version,
                "event_specification": {k: v for k, v in (meta.get("event") or {}).items() if k != "examples"},
                "trigger": trigger,
                "properties": trigger.get("properties") if static else None,
                "trigger_link": trigger.get("link") if static else None,
                "trigger_help": trigger.get("help") if static else None,
                "job_id": ctx.job_ids[job.slug],
                "endpoint_id": ctx.endpoint.id,
                "environment_id": ctx.environment.id,
                "organization_id": ctx.endpoint.organization_id,
                "project_id": ctx.endpoint.project_id,
                "start_position": StartPosition.LATEST,
                "preprocess_runs": bool(meta.get("preprocessRuns", False)),
                "concurrency_limit": limit if is_count(limit) else None,
                "concurrency_limit_group_id": group_ids.get(limit["id"]) if isinstance(limit, dict) else None,
                "status": JobVersionStatus.ACTIVE,
            }
        )
    upserted = ctx.upsert(
        JobVersion,
        versions,
        on=["job", "version", "environment"],
        new=ctx.all_inserted(ctx.job_ids.values()),
        update=[
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
        ],
    )
    ids = upserted.ids
    # Examples and integration links can only hang off versions that were there before.
    ctx.existing_version_ids = upserted.existing_ids()
    for job in ctx.jobs:
        version_id = ids[(ctx.job_ids[job.slug], job.version, ctx.environment.id)]
        ctx.version_ids[job.slug] = version_id
        ctx.registration_versions[(job.slug, job.version)] = version_id
    ctx.stats.jobs = sum(1 for job in ctx.jobs if not job.internal)


def _concurrency_groups(ctx: ApplyContext) -> dict[str, str]:
    groups: dict[str, dict[str, Any]] = {}
    for job in ctx.jobs:
        limit = job.metadata.get("concurrencyLimit")
        if isinstance(limit, dict):
            groups[limit["id"]] = {
                "name": limit["id"],
                "concurrency_limit": limit["limit"],
                "environment_id": ctx.environment.id,
            }
    if not groups:
        return {}
    return ctx.upsert(
        ConcurrencyLimitGroup, groups.values(), on=["environment", "name"], update=["concurrency_limit"]
    ).by_last()


def register_examples(ctx: ApplyContext) -> None:
    """Each registered version gets exactly the examples declared for it."""
    if not ctx.jobs:
        return
    examples = []
    keep: set[str] = set()
    for job in ctx.jobs:
        version_id = ctx.version_ids[job.slug]
        for slug, example in dedupe((job.metadata.get("event") or {}).get("examples"), "id").items():
            keep.add(keyed(version_id, slug))
            examples.append(
                {
                    "slug": slug,
                    "name": clip(example.get("name") or slug, EventExample, "name"),
                    "icon": clip(example.get("icon"), EventExample, "icon"),
                    "payload": example.get("payload"),
                    "job_version_id": version_id,
                }
            )
    if examples:
        ctx.upsert(
            EventExample,
            examples,
            on=["slug", "job_version"],
            update=["name", "icon", "payload"],
            new=not ctx.existing_version_ids,
        )
    if ctx.existing_version_ids:
        ctx.delete_unlisted(
            EventExample.objects.filter(job_version_id__anyof=ctx.existing_version_ids),
            ["job_version_id", "slug"],
            keep,
        )


def link_integrations(ctx: ApplyContext) -> None:
    """Each registered version gets exactly the integration keys declared for it."""
    if not ctx.jobs:
        return
    links = []
    keep: set[str] = set()
    for job in ctx.jobs:
        version_id = ctx.version_ids[job.slug]
        for key, config in (job.metadata.get("integrations") or {}).items():
            keep.add(keyed(version_id, key))
            links.append(
                {
                    "key": key,
                    "version_id": version_id,
                    "job_id": ctx.job_ids[job.slug],
                    "integration_id": ctx.integration_ids[config["id"]],
                }
            )
    if links:
        ctx.upsert(
            JobIntegration, links, on=["version", "key"], update=["integration"], new=not ctx.existing_version_ids
        )
    if ctx.existing_version_ids:
        ctx.delete_unlisted(
            JobIntegration.objects.filter(version_id__anyof=ctx.existing_version_ids), ["version_id", "key"], keep
        )


def disable_jobs(ctx: ApplyContext) -> None:
    """`enabled:false` and vanished jobs: their ACTIVE versions on this endpoint, the job's
    dispatcher when it points at one of them, and the job's schedule on this endpoint."""
    planned = [item.version_id for item in ctx.plan.jobs_to_disable]
    if not planned:
        return
    rows = list(
        JobVersion.objects.select_for_update()
        .filter(id__anyof=planned, endpoint=ctx.endpoint, status=JobVersionStatus.ACTIVE)
        .values_list("id", "job_id")
    )
    if not rows:
        return
    version_ids = [version_id for version_id, _ in rows]
    ctx.changed_job_ids = {job_id for _, job_id in rows}
    ctx.update(JobVersion.objects.filter(id__anyof=version_ids), status=JobVersionStatus.DISABLED, updated_at=ctx.now)
    ctx.update(
        EventDispatcher.objects.filter(
            environment=ctx.environment,
            dispatchable_id__anyof=list(ctx.changed_job_ids),
            dispatchable__id__in=version_ids,
        ),
        enabled=False,
        updated_at=ctx.now,
    )
    ctx.disarm_filters.append(Q(key__anyof=list(ctx.changed_job_ids), endpoint=ctx.endpoint))
    ctx.stats.disabled_jobs = len(ctx.changed_job_ids)


def point_latest_aliases(ctx: ApplyContext) -> None:
    """`latest` = highest ACTIVE version by semver order; untouched when none is ACTIVE."""
    job_ids = set(ctx.job_ids.values()) | ctx.changed_job_ids
    if not job_ids:
        return
    best: dict[str, tuple[str, str]] = {}
    if ctx.all_inserted(job_ids):
        # A job this apply inserted has one version, the ACTIVE one it just registered: nothing to read.
        rows = [(ctx.job_ids[job.slug], ctx.version_ids[job.slug], job.version) for job in ctx.jobs]
    else:
        rows = list(
            JobVersion.objects.filter(
                environment=ctx.environment, job_id__anyof=list(job_ids), status=JobVersionStatus.ACTIVE
            ).values_list("job_id", "id", "version")
        )
    for job_id, version_id, version in rows:
        current = best.get(job_id)
        if current is None or version_key(version) > version_key(current[1]):
            best[job_id] = (version_id, version)
    if not best:
        return
    ctx.upsert(
        JobAlias,
        [
            {
                "name": LATEST_ALIAS,
                "value": version,
                "version_id": version_id,
                "job_id": job_id,
                "environment_id": ctx.environment.id,
            }
            for job_id, (version_id, version) in best.items()
        ],
        on=["job", "environment", "name"],
        update=["value", "version"],
        new=ctx.all_inserted(best),
    )


def resolve_registration_jobs(ctx: ApplyContext) -> None:
    """Resolve `registerSourceJob` references that this index did not register itself."""
    refs = [item.get("registerSourceJob") for item in ctx.plan.sources_to_register]
    refs += [item.get("registerSourceJob") for item in ctx.plan.dynamic_triggers_to_register]
    missing = {
        (ref["id"], ref["version"])
        for ref in refs
        if ref and (ref["id"], ref["version"]) not in ctx.registration_versions
    }
    if not missing:
        return
    rows = JobVersion.objects.filter(
        environment=ctx.environment,
        job__project_id=ctx.endpoint.project_id,
        job__slug__in=unique(slug for slug, _ in missing),
        version__in=unique(version for _, version in missing),
    ).values_list("id", "job__slug", "version")
    for version_id, slug, version in rows:
        if (slug, version) in missing:
            ctx.registration_versions[(slug, version)] = version_id
