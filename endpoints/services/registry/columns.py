"""Column limits. An identifier that does not fit its column makes its item unstorable: the item
is skipped and reported rather than failing the whole index. Display text is clipped instead."""

from __future__ import annotations

from functools import cache
from typing import Any, cast

from django.db import models

from endpoints.models import (
    ConcurrencyLimitGroup,
    Endpoint,
    EventDispatcher,
    EventExample,
    Integration,
    IntegrationDefinition,
    Job,
    JobIntegration,
    JobVersion,
    ScheduleSource,
    SecretReference,
    TriggerSource,
    TriggerSourceOption,
)
from endpoints.services.registry.document import source_options

MAX_INT = 2**31 - 1


@cache
def _max_length(model: type[models.Model], field_name: str) -> int | None:
    field = cast("models.Field[Any, Any]", model._meta.get_field(field_name))  # a column, not a relation
    return field.max_length


def too_long(value: str | None, model: type[models.Model], field_name: str, *, reserve: int = 0) -> bool:
    limit = _max_length(model, field_name)
    return value is not None and limit is not None and len(value) + reserve > limit


def clip(value: Any, model: type[models.Model], field_name: str) -> Any:
    """Display text is cut to its column rather than failing the whole index."""
    limit = _max_length(model, field_name)
    if isinstance(value, str) and limit is not None and len(value) > limit:
        return value[:limit]
    return value


def is_count(value: Any) -> bool:
    """A non-negative integer an `int` column holds (JSON booleans are not counts)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_INT


def integration_problem(config: dict[str, Any]) -> str | None:
    metadata = config.get("metadata") or {}
    if too_long(config.get("id"), Integration, "slug"):
        return f'integration id "{config.get("id")}" is too long'
    if too_long(metadata.get("id"), IntegrationDefinition, "id"):
        return f'integration definition id "{metadata.get("id")}" is too long'
    return None


def job_problem(job: dict[str, Any]) -> str | None:
    """Why this job cannot be stored (values a column cannot hold), or None."""
    if too_long(job["id"], Job, "slug"):
        return "the id is too long"
    if too_long(job["version"], JobVersion, "version"):
        return "the version is too long"
    for key, config in (job.get("integrations") or {}).items():
        if too_long(key, JobIntegration, "key"):
            return f'integration key "{key}" is too long'
        problem = integration_problem(config)
        if problem:
            return problem
    for example in (job.get("event") or {}).get("examples") or []:
        if too_long(example.get("id"), EventExample, "slug"):
            return f'example id "{example.get("id")}" is too long'
    limit = job.get("concurrencyLimit")
    if isinstance(limit, dict):
        if too_long(limit.get("id"), ConcurrencyLimitGroup, "name") or not is_count(limit.get("limit")):
            return "the concurrency limit group cannot be stored"
    elif limit is not None and not is_count(limit):
        return "the concurrency limit cannot be stored"
    trigger = job.get("trigger") or {}
    if trigger.get("type") == "static" and too_long(
        (trigger.get("rule") or {}).get("source"), EventDispatcher, "source"
    ):
        return "the trigger source is too long"
    if trigger.get("type") == "scheduled":
        schedule = trigger.get("schedule") or {}
        if too_long(schedule.get("accountId"), ScheduleSource, "account_id"):
            return "the schedule accountId is too long"
    return None


def source_problem(source: dict[str, Any], endpoint: Endpoint) -> str | None:
    # The secret reference key is "<endpointId>:<key>".
    if too_long(source["key"], TriggerSource, "key") or too_long(
        source["key"], SecretReference, "key", reserve=len(endpoint.id) + 1
    ):
        return "the key is too long"
    for name, values in source_options(source).items():
        if too_long(name, TriggerSourceOption, "name"):
            return f'option name "{name}" is too long'
        if any(too_long(value, TriggerSourceOption, "value") for value in values):
            return f'an option value of "{name}" is too long'
    return integration_problem(source.get("integration") or {})
