"""Template filters of the operators' console."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()

#: v2 trigger metadata `type` -> what operators call it.
TRIGGER_KINDS = {"static": "event", "scheduled": "scheduled", "dynamic": "dynamic", "invoke": "invoke"}


@register.filter
def trigger_kind(trigger: Any) -> str:
    kind = (trigger or {}).get("type", "") if isinstance(trigger, dict) else ""
    return TRIGGER_KINDS.get(kind, kind or "—")


@register.filter
def schedule_summary(schedule: Any) -> str:
    """`cron 0 9 * * *` or `interval 300 s` from a ScheduleSource's schedule JSON."""
    if not isinstance(schedule, dict):
        return ""
    options = schedule.get("options") or {}
    if "cron" in options:
        return f"cron {options['cron']}"
    if "seconds" in options:
        return f"every {options['seconds']} s"
    return str(schedule.get("type", ""))
