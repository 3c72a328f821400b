"""Shapes of the registry API (`/api/v1/endpoints/…` reads, delete and plan): query inputs check
the filters, outputs render the rows the selectors of `endpoints.selectors_api` return."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from endpoints.api.pagination import MAX_PAGE_SIZE, PAGE_SIZE
from endpoints.api.serializers import (
    EndpointHealthOutput,
    IndexDiffOutput,
    IndexErrorOutput,
    IndexStatsOutput,
    JsDateTimeField,
    QueryInput,
)
from endpoints.models import (
    DynamicTrigger,
    Endpoint,
    EndpointHealth,
    EndpointIndex,
    IndexSource,
    IndexStatus,
    JobAlias,
    JobVersionStatus,
    TriggerSource,
)
from endpoints.services.diff import jobs_diff_summary
from endpoints.services.indexing import IndexPreview

# --- queries ----------------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.BOOL)
class QueryBooleanField(serializers.Field):
    """`true` or `false` in a query string, nothing else."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if data not in ("true", "false"):
            self.fail("invalid")
        return bool(data == "true")

    def to_representation(self, value: Any) -> Any:
        return value


class PageQuery(QueryInput):
    cursor = serializers.CharField(required=False, help_text="The `next` or `previous` link's cursor.")
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_PAGE_SIZE, help_text=f"Page size (default {PAGE_SIZE})."
    )


class EndpointsQuery(PageQuery):
    health = serializers.ChoiceField(
        choices=EndpointHealth.choices, required=False, help_text="DELETED lists soft-deleted endpoints only."
    )


class IndexesQuery(PageQuery):
    status = serializers.ChoiceField(choices=IndexStatus.choices, required=False)
    source = serializers.ChoiceField(choices=IndexSource.choices, required=False)  # type: ignore[assignment]


class JobsQuery(PageQuery):
    enabled = QueryBooleanField(required=False)


class ActiveQuery(PageQuery):
    active = QueryBooleanField(required=False)


# --- outputs ----------------------------------------------------------------------------------


class IndexRunOutput(serializers.Serializer):
    """An index run as lists show it: its stats, its error's code and the job ids it changed."""

    id = serializers.CharField()
    endpointId = serializers.CharField(source="endpoint_id")
    # The wire field `source`: DRF's metaclass moves declared fields off the class; the stubs can't see that.
    source = serializers.ChoiceField(choices=IndexSource.choices)  # type: ignore[assignment]
    reason = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=IndexStatus.choices)
    stats = IndexStatsOutput(allow_null=True)
    errorCode = serializers.CharField(source="error_code", allow_null=True, help_text="See the error codes (FAILURE).")
    diff = serializers.SerializerMethodField()
    requests = serializers.IntegerField(help_text="How many index requests this run absorbed.")
    attempts = serializers.IntegerField()
    createdAt = JsDateTimeField(source="created_at")
    updatedAt = JsDateTimeField(source="updated_at")
    startedAt = JsDateTimeField(source="started_at", allow_null=True)
    finishedAt = JsDateTimeField(source="finished_at", allow_null=True)

    @extend_schema_field(IndexDiffOutput(allow_null=True))
    def get_diff(self, run: EndpointIndex) -> dict[str, list[str]] | None:
        jobs = getattr(run, "jobs_diff", None)
        return jobs_diff_summary({"jobs": jobs}) if jobs is not None else None


class ApiHealthOutput(EndpointHealthOutput):
    since = JsDateTimeField(source="health_state_since", help_text="When the endpoint entered this state.")


class EndpointCountsOutput(serializers.Serializer):
    jobs = serializers.IntegerField(source="jobs_count", help_text="Jobs whose latest version is on the endpoint.")
    sources = serializers.IntegerField(source="sources_count")
    triggers = serializers.IntegerField(source="triggers_count", help_text="Dynamic triggers.")
    schedules = serializers.IntegerField(source="schedules_count", help_text="Dynamic schedules.")


class EndpointSummaryOutput(serializers.Serializer):
    id = serializers.CharField()
    slug = serializers.CharField()
    url = serializers.CharField(allow_null=True, help_text="null when soft-deleted.")
    health = ApiHealthOutput(source="*")
    version = serializers.CharField(help_text="The protocol version the endpoint announced (x-trigger-version).")
    sdkVersion = serializers.CharField(source="sdk_version")
    hookUrl = serializers.SerializerMethodField()
    counts = EndpointCountsOutput(source="*")
    latestIndex = IndexRunOutput(source="latest_index", allow_null=True)
    latestSuccessfulIndex = IndexRunOutput(source="latest_success", allow_null=True)
    createdAt = JsDateTimeField(source="created_at")
    updatedAt = JsDateTimeField(source="updated_at")
    deletedAt = JsDateTimeField(source="deleted_at", allow_null=True)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_hookUrl(self, endpoint: Endpoint) -> str | None:
        """The deploy hook; absolute with KONGFLOW_APP_ORIGIN, else on the origin of the request."""
        if not endpoint.indexing_hook_identifier:
            return None
        path = f"/api/v1/endpoints/{endpoint.environment_id}/{endpoint.slug}/index/{endpoint.indexing_hook_identifier}"
        origin = settings.KONGFLOW_APP_ORIGIN
        if origin:
            return f"{origin.rstrip('/')}{path}"
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class IntegrationRefOutput(serializers.Serializer):
    key = serializers.CharField(help_text="The job's name for it.")
    id = serializers.CharField(source="integration.slug")
    definition = serializers.CharField(source="integration.definition_id", help_text="e.g. github")


class JobOutput(serializers.Serializer):
    id = serializers.CharField(source="job.slug", help_text="The job id the SDK declares.")
    name = serializers.CharField(source="job.title")
    version = serializers.CharField(source="version.version", help_text="The latest version (semver order).")
    triggerType = serializers.SerializerMethodField()
    enabled = serializers.SerializerMethodField()
    internal = serializers.BooleanField(source="job.internal")
    integrations = IntegrationRefOutput(source="version.integrations.all", many=True)
    updatedAt = JsDateTimeField(source="version.updated_at")

    @extend_schema_field(serializers.CharField(allow_null=True, help_text="static, scheduled, dynamic, invoke…"))
    def get_triggerType(self, alias: JobAlias) -> str | None:
        kind = (alias.version.trigger or {}).get("type")
        return kind if isinstance(kind, str) else None

    @extend_schema_field(serializers.BooleanField())
    def get_enabled(self, alias: JobAlias) -> bool:
        return bool(alias.version.status == JobVersionStatus.ACTIVE)


class IntegrationOutput(serializers.Serializer):
    id = serializers.CharField(source="slug")
    definition = serializers.CharField(source="definition_id")


class SourceOutput(serializers.Serializer):
    key = serializers.CharField()
    channel = serializers.CharField()
    active = serializers.BooleanField()
    integration = IntegrationOutput()
    params = serializers.JSONField(allow_null=True)
    dynamic = serializers.SerializerMethodField()
    createdAt = JsDateTimeField(source="created_at")
    updatedAt = JsDateTimeField(source="updated_at")

    @extend_schema_field(serializers.BooleanField(help_text="Registered through a dynamic trigger."))
    def get_dynamic(self, source: TriggerSource) -> bool:
        return source.dynamic_trigger_id is not None


class DynamicTriggerOutput(serializers.Serializer):
    id = serializers.CharField(source="slug")
    active = serializers.BooleanField()
    jobs = serializers.SerializerMethodField()
    createdAt = JsDateTimeField(source="created_at")
    updatedAt = JsDateTimeField(source="updated_at")

    @extend_schema_field(serializers.ListField(child=serializers.CharField(), help_text="Ids of the jobs using it."))
    def get_jobs(self, trigger: DynamicTrigger) -> list[str]:
        return [job.slug for job in trigger.jobs.all()]


class JobToRegisterOutput(serializers.Serializer):
    id = serializers.CharField(source="slug")
    version = serializers.CharField()
    triggerType = serializers.CharField(source="trigger_type")
    new = serializers.SerializerMethodField()

    @extend_schema_field(serializers.BooleanField(help_text="No job with this id exists in the project yet."))
    def get_new(self, job: Any) -> bool:
        return not job.exists


class JobToDisableOutput(serializers.Serializer):
    id = serializers.CharField(source="slug")
    version = serializers.CharField()
    reason = serializers.CharField(source="why", help_text="enabled_false or vanished")


class PlanOutput(serializers.Serializer):
    """A dry run: what an index would do now. Nothing was written."""

    endpointId = serializers.CharField(source="endpoint.id")
    slug = serializers.CharField(source="endpoint.slug")
    status = serializers.ChoiceField(
        choices=[IndexStatus.SUCCESS, IndexStatus.FAILURE],
        help_text="FAILURE: the fetch or validation failed (see error); an index would fail the same way.",
    )
    error = IndexErrorOutput(allow_null=True)
    diff = IndexDiffOutput(allow_null=True, help_text="Job ids an index would add, remove and change.")
    changes = serializers.JSONField(
        allow_null=True,
        help_text="The whole diff against the latest SUCCESS: per collection (jobs, sources, dynamicTriggers, "
        "dynamicSchedules, httpEndpoints, webhooks) {added, removed, changed: {id: [paths]}}.",
    )
    jobsToRegister = JobToRegisterOutput(source="plan.jobs_to_register", many=True, allow_null=True)
    jobsToDisable = JobToDisableOutput(source="plan.jobs_to_disable", many=True, allow_null=True)
    suspiciousShrink = serializers.CharField(
        source="shrink",
        allow_null=True,
        help_text="Why an index would fail with SUSPICIOUS_SHRINK unless forced.",
    )

    def to_representation(self, instance: IndexPreview) -> dict[str, Any]:
        plan = instance.plan
        return {
            "endpointId": instance.endpoint.id,
            "slug": instance.endpoint.slug,
            "status": IndexStatus.FAILURE if instance.error else IndexStatus.SUCCESS,
            "error": IndexErrorOutput(instance.error).data if instance.error else None,
            "diff": jobs_diff_summary(instance.diff),
            "changes": instance.diff,
            "jobsToRegister": JobToRegisterOutput(plan.jobs_to_register, many=True).data if plan else None,
            "jobsToDisable": JobToDisableOutput(plan.jobs_to_disable, many=True).data if plan else None,
            "suspiciousShrink": instance.shrink,
        }
