"""Dynamic triggers and dynamic schedules: one DynamicTrigger row each, linked to its jobs."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from endpoints.models import DynamicTrigger, DynamicTriggerType, EventDispatcher, Job
from endpoints.services.registry.bulk import keyed, unique
from endpoints.services.registry.context import ApplyContext

EVENT = DynamicTriggerType.EVENT
SCHEDULE = DynamicTriggerType.SCHEDULE


def register_dynamic_triggers(ctx: ApplyContext) -> None:
    """Deactivate the vanished ones (and disarm vanished schedules), upsert the declared ones and
    set their job links; a returning dynamic schedule is queued for re-arming."""
    triggers = ctx.plan.dynamic_triggers_to_register
    schedules = ctx.plan.dynamic_schedules_to_register
    snapshot = ctx.snapshot
    if snapshot.vanished_dynamic_trigger_ids or snapshot.vanished_dynamic_schedule_ids:
        vanished = snapshot.vanished_dynamic_trigger_ids + snapshot.vanished_dynamic_schedule_ids
        ctx.update(DynamicTrigger.objects.filter(id__anyof=vanished), active=False, updated_at=ctx.now)
    if snapshot.vanished_dynamic_schedule_ids:
        ctx.update(
            EventDispatcher.objects.filter(
                environment=ctx.environment, dispatchable_id__in=snapshot.vanished_dynamic_schedule_ids
            ),
            enabled=False,
            updated_at=ctx.now,
        )
        ctx.disarm_filters.append(Q(dynamic_trigger_id__in=snapshot.vanished_dynamic_schedule_ids))
    if not triggers and not schedules:
        return

    rows = [
        {
            "type": EVENT,
            "slug": item["id"],
            "endpoint_id": ctx.endpoint.id,
            "source_registration_job_id": ctx.registration_version(item, f'Dynamic trigger "{item["id"]}"'),
            "active": True,
        }
        for item in triggers
    ] + [
        {
            "type": SCHEDULE,
            "slug": item["id"],
            "endpoint_id": ctx.endpoint.id,
            "source_registration_job_id": None,
            "active": True,
        }
        for item in schedules
    ]
    upserted = ctx.upsert(
        DynamicTrigger,
        rows,
        on=["endpoint", "slug", "type"],
        update=["source_registration_job", "active"],
    )
    ids = ctx.dynamic_trigger_ids = {(slug, kind): dt_id for (_, slug, kind), dt_id in upserted.ids.items()}
    declared = [(ids[(item["id"], EVENT)], item.get("jobs") or []) for item in triggers]
    declared += [(ids[(item["id"], SCHEDULE)], item.get("jobs") or []) for item in schedules]
    _link_jobs(ctx, declared)

    # A dynamic schedule that comes back gets the schedules it had before it vanished.
    ctx.rearm_dynamic_schedule_ids = [
        ids[(item["id"], SCHEDULE)]
        for item in schedules
        if (item["id"], SCHEDULE) in snapshot.dynamic_triggers
        and not snapshot.dynamic_triggers[(item["id"], SCHEDULE)]["active"]
    ]
    ctx.stats.dynamic_triggers = len(triggers)
    ctx.stats.dynamic_schedules = len(schedules)


def _link_jobs(ctx: ApplyContext, declared: list[tuple[str, list[dict[str, Any]]]]) -> None:
    """Exactly the declared jobs that have a version on this endpoint, per dynamic trigger id."""
    slugs = unique(ref["id"] for _, refs in declared for ref in refs)
    on_endpoint = (
        dict(
            Job.objects.filter(project_id=ctx.endpoint.project_id, slug__in=slugs, versions__endpoint=ctx.endpoint)
            .distinct()
            .values_list("slug", "id")
        )
        if slugs
        else {}
    )
    through = DynamicTrigger.jobs.through
    links = {
        keyed(dt_id, on_endpoint[ref["id"]]): {"dynamictrigger_id": dt_id, "job_id": on_endpoint[ref["id"]]}
        for dt_id, refs in declared
        for ref in refs
        if ref["id"] in on_endpoint
    }
    ctx.delete_unlisted(
        through.objects.filter(dynamictrigger_id__in=[dt_id for dt_id, _ in declared]),
        ["dynamictrigger_id", "job_id"],
        set(links),
    )
    if links:
        ctx.upsert(through, links.values(), on=["dynamictrigger", "job"], update=[])
