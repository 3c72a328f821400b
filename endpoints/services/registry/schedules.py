"""Event dispatchers (jobs and dynamic schedules) and the ScheduleSources of scheduled jobs, and
which schedules the caller must arm or disarm after commit."""

from __future__ import annotations

from typing import Any

from django.db.models import BooleanField, ExpressionWrapper, Q, Value

from endpoints.models import DynamicTriggerType, EventDispatcher, ScheduleSource
from endpoints.services.registry.context import ApplyContext
from endpoints.services.registry.plan import JobToRegister

SCHEDULED_EVENT = "dev.trigger.scheduled"
SCHEDULED_SOURCE = "trigger.dev"
MIN_INTERVAL_SECONDS = 20


def register_dispatchers_and_schedules(ctx: ApplyContext) -> None:
    """One dispatcher per registered job and dynamic schedule, pointed at what it dispatches to;
    a ScheduleSource per scheduled job, and a disarm for jobs that are no longer scheduled."""
    dispatchers = []
    scheduled: list[JobToRegister] = []
    for job in ctx.jobs:
        trigger = job.metadata.get("trigger") or {}
        job_id = ctx.job_ids[job.slug]
        dispatchable = {"type": "JOB_VERSION", "id": ctx.version_ids[job.slug]}
        if trigger.get("type") == "static":
            rule = trigger.get("rule") or {}
            dispatchers.append(
                {
                    "event": _as_list(rule.get("event")),
                    "source": rule.get("source") or SCHEDULED_SOURCE,
                    "payload_filter": rule.get("payload"),
                    "context_filter": rule.get("context"),
                    "manual": False,
                    "dispatchable_id": job_id,
                    "dispatchable": dispatchable,
                    "enabled": True,
                    "environment_id": ctx.environment.id,
                }
            )
        elif trigger.get("type") == "scheduled":
            scheduled.append(job)
            dispatchers.append(_scheduled_dispatcher(ctx, job_id, dispatchable))
    for item in ctx.plan.dynamic_schedules_to_register:
        dt_id = ctx.dynamic_trigger_ids[(item["id"], DynamicTriggerType.SCHEDULE)]
        dispatchers.append(_scheduled_dispatcher(ctx, dt_id, {"type": "DYNAMIC_TRIGGER", "id": dt_id}))
    dispatcher_ids: dict[str, str] = {}
    if dispatchers:
        dispatcher_ids = ctx.upsert(
            EventDispatcher,
            dispatchers,
            on=["dispatchable_id", "environment"],
            update=["event", "source", "payload_filter", "context_filter", "manual", "dispatchable", "enabled"],
            new=ctx.all_inserted(row["dispatchable_id"] for row in dispatchers),
        ).by_first()

    # A job that stopped being scheduled must stop receiving its schedule.
    scheduled_slugs = {job.slug for job in scheduled}
    unscheduled = [ctx.job_ids[job.slug] for job in ctx.jobs if job.slug not in scheduled_slugs]
    if unscheduled:
        ctx.disarm_filters.append(Q(key__anyof=unscheduled, endpoint=ctx.endpoint))
    if scheduled:
        _register_job_schedules(ctx, scheduled, dispatcher_ids)


def _register_job_schedules(ctx: ApplyContext, scheduled: list[JobToRegister], dispatcher_ids: dict[str, str]) -> None:
    """Job-keyed ScheduleSources; active only where internal sources are enabled automatically."""
    active = ctx.environment.auto_enable_internal_sources
    sources = []
    for job in scheduled:
        schedule = job.metadata["trigger"].get("schedule") or {}
        job_id = ctx.job_ids[job.slug]
        sources.append(
            {
                "key": job_id,
                "schedule": _schedule_for_source(schedule),
                "environment_id": ctx.environment.id,
                "endpoint_id": ctx.endpoint.id,
                "dispatcher_id": dispatcher_ids[job_id],
                "active": active,
                "metadata": schedule.get("metadata"),
                "account_id": schedule.get("accountId"),
            }
        )
    ctx.upsert(
        ScheduleSource,
        sources,
        on=["key", "environment"],
        update=["schedule", "endpoint", "dispatcher", "active", "metadata", "account_id"],
        new=ctx.all_inserted(row["key"] for row in sources),
    )
    ctx.scheduled_job_ids = [ctx.job_ids[job.slug] for job in scheduled]


def settle_schedules(ctx: ApplyContext) -> None:
    """Deactivate the schedules collected by the earlier phases, re-activate returning dynamic
    schedules, and tell the caller which schedules to (re)arm and disarm (one SELECT for both)."""
    follow_ups = ctx.stats.follow_ups
    disarm_condition = Q()
    for item in ctx.disarm_filters:
        disarm_condition |= item
    rearm = ctx.rearm_dynamic_schedule_ids if ctx.environment.auto_enable_internal_sources else []
    arm_condition = Q()
    if rearm:
        arm_condition |= Q(dynamic_trigger_id__anyof=rearm)
    if ctx.scheduled_job_ids:
        arm_condition |= Q(key__anyof=ctx.scheduled_job_ids)
    if not disarm_condition and not arm_condition:
        return
    rows = list(
        ScheduleSource.objects.filter(environment=ctx.environment)
        .filter(((Q(active=True) & disarm_condition) if disarm_condition else Q(pk__in=[])) | arm_condition)
        .annotate(
            to_disarm=ExpressionWrapper(Q(active=True) & disarm_condition, BooleanField()),
            to_arm=ExpressionWrapper(arm_condition, BooleanField()) if arm_condition else Value(False),
            rearmed=ExpressionWrapper(Q(dynamic_trigger_id__anyof=rearm), BooleanField()) if rearm else Value(False),
        )
        .values_list("id", "active", "to_disarm", "to_arm", "rearmed")
    )
    disarm = sorted(row_id for row_id, _, to_disarm, _, _ in rows if to_disarm)
    if ctx.disarm_filters:
        if disarm:
            ctx.update(ScheduleSource.objects.filter(id__anyof=disarm), active=False, updated_at=ctx.now)
        follow_ups.schedules_to_disarm = disarm
    if rearm:
        ctx.update(ScheduleSource.objects.filter(dynamic_trigger_id__anyof=rearm), active=True, updated_at=ctx.now)
    if arm_condition:
        follow_ups.schedules_to_arm = sorted(
            row_id
            for row_id, active, to_disarm, to_arm, rearmed in rows
            if to_arm and ((active and not to_disarm) or rearmed)
        )


def _scheduled_dispatcher(ctx: ApplyContext, dispatchable_id: str, dispatchable: dict[str, Any]) -> dict[str, Any]:
    return {
        "event": [SCHEDULED_EVENT],
        "source": SCHEDULED_SOURCE,
        "payload_filter": {},
        "context_filter": {},
        "manual": True,
        "dispatchable_id": dispatchable_id,
        "dispatchable": dispatchable,
        "enabled": True,
        "environment_id": ctx.environment.id,
    }


def _schedule_for_source(schedule: dict[str, Any]) -> dict[str, Any]:
    """`{type, options}`; intervals below 20 s are clamped to 20 (RegisterScheduleSource)."""
    options = dict(schedule.get("options") or {})
    if schedule.get("type") == "interval":
        seconds = options.get("seconds")
        if isinstance(seconds, int | float) and seconds < MIN_INTERVAL_SECONDS:
            options["seconds"] = MIN_INTERVAL_SECONDS
    return {"type": schedule.get("type"), "options": options}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
