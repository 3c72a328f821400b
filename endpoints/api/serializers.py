"""Input serializers check shape only; output serializers render the v2 camelCase shapes."""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from endpointapi.guard import InvalidUrl, parse_url
from endpoints.models import Endpoint, EndpointHealth, EndpointIndex, EnvironmentType, IndexSource, IndexStatus
from endpoints.services.diff import jobs_diff_summary
from endpoints.utils import js_iso, unstorable_path


class StrictCharField(serializers.CharField):
    """A string, never a number or boolean coerced to one (zod's z.string())."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


URL_MAX_LENGTH = 2000
SLUG_MAX_LENGTH = 200
#: No control characters anywhere, no whitespace at either end ("slug\t" is not a second "slug").
_CONTROL = "\\x00-\\x1f\\x7f-\\x9f"
_SPACE = "\\s\\u00a0\\u1680\\u2000-\\u200b\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"
_SLUG = f"[^{_CONTROL}{_SPACE}](?:[^{_CONTROL}]*[^{_CONTROL}{_SPACE}])?"
SLUG_PATTERN = f"^{_SLUG}$"  # as the OpenAPI schema states it; checked with fullmatch ("$" allows a final \n)
_SLUG_RE = re.compile(_SLUG)


@extend_schema_field({"type": "string", "minLength": 1, "maxLength": SLUG_MAX_LENGTH, "pattern": SLUG_PATTERN})
class SlugField(StrictCharField):
    """An endpoint id as the SDK sends it: any text, but no control characters and no whitespace
    at either end (it would register a second endpoint for the same URL)."""

    default_error_messages = {
        "invalid_slug": "must not start or end with whitespace or contain control characters",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=SLUG_MAX_LENGTH, trim_whitespace=False, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        slug = super().to_internal_value(data)
        if not _SLUG_RE.fullmatch(slug):
            self.fail("invalid_slug")
        return slug


@extend_schema_field(
    {
        "type": "string",
        "format": "uri",
        "maxLength": URL_MAX_LENGTH,
        "pattern": "^[hH][tT][tT][pP][sS]?://[^\\s\\\\@]+$",
        "description": "An http(s) URL without credentials; outside DEVELOPMENT it must be on a public "
        "address (or in ENDPOINTAPI_ALLOWED_NETWORKS).",
    }
)
class EndpointUrlField(StrictCharField):
    """An absolute http(s) URL, read by the same parser the outbound transport requests it with
    (:func:`endpointapi.guard.parse_url`). Unlike Django's URLValidator it accepts hosts without a
    TLD (`http://web:3000/api/trigger` in docker-compose), as the original's `new URL()` does."""

    default_error_messages = {
        "invalid": "Invalid url",
        "credentials": "Endpoint URLs must not contain credentials (user:password@)",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=URL_MAX_LENGTH, trim_whitespace=False, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        url = super().to_internal_value(data)
        try:
            parse_url(url)
        except InvalidUrl as exc:
            self.fail("credentials" if "credentials" in str(exc) else "invalid")
        return url


class QueryInput(serializers.Serializer):
    """Query parameters: an unknown name is a 400 (a misspelt filter must not list everything), and
    so is an empty value (DRF would take `?health=` for no filter at all)."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(f"Unknown query parameter(s): {', '.join(unknown) or '(empty name)'}")
        blank = [name for name in self.initial_data if self.initial_data.get(name) == ""]
        if blank:
            raise serializers.ValidationError({name: "This field may not be blank." for name in sorted(blank)})
        return attrs


class EndpointRegisterInput(serializers.Serializer):
    id = SlugField()
    url = EndpointUrlField()


class EndpointValidateInput(serializers.Serializer):
    url = EndpointUrlField()


class StrictBooleanField(serializers.BooleanField):
    """true or false, never 0, 1 or "true" (zod's z.boolean())."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class StorableJSONField(serializers.JSONField):
    default_error_messages = {"nul": "Text must not contain NUL characters or unpaired surrogates."}

    def to_internal_value(self, data: Any) -> Any:
        value = super().to_internal_value(data)
        if unstorable_path(value) is not None:
            self.fail("nul")
        return value


class EndpointIndexInput(serializers.Serializer):
    reason = StrictCharField(required=False, allow_blank=True, max_length=2000)
    # The wire field `data`: DRF's metaclass moves declared fields off the class; the stubs can't see that.
    data = StorableJSONField(required=False, allow_null=True)  # type: ignore[assignment]
    force = StrictBooleanField(required=False, default=False)


# -- outputs: each one renders its response and is what the OpenAPI schema says about it ----------


class JsDateTimeField(serializers.DateTimeField):
    """A date-time as JavaScript's Date#toJSON writes it (the v2 wire format)."""

    # DRF renders a None attribute itself, so value is a datetime here and js_iso returns a str.
    def to_representation(self, value: Any) -> str | None:  # type: ignore[override]
        return js_iso(value)


class ErrorOutput(serializers.Serializer):
    """Every error of the API (rendered by ``endpoints.api.exceptions`` and the /api middleware)."""

    error = serializers.CharField()


class IndexErrorOutput(serializers.Serializer):
    code = serializers.CharField(required=False)
    message = serializers.CharField()
    hint = serializers.CharField(required=False)
    raw = serializers.CharField(required=False)


class IndexStatsOutput(serializers.Serializer):
    jobs = serializers.IntegerField()
    sources = serializers.IntegerField()
    webhooks = serializers.IntegerField(required=False)
    dynamicTriggers = serializers.IntegerField()
    dynamicSchedules = serializers.IntegerField()
    disabledJobs = serializers.IntegerField()
    httpEndpoints = serializers.IntegerField()

    def to_representation(self, instance: dict[str, Any]) -> dict[str, Any]:
        """A counter an older row lacks is 0 (``webhooks`` is only shown when recorded)."""
        names = self.fields.keys()  # the stubs type iterating a BindingDict as yielding its fields
        return super().to_representation({name: 0 for name in names if name != "webhooks"} | dict(instance))


_STATUSES = IndexStatus.choices


@extend_schema_field(
    {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["code"],
            "properties": {"code": {"type": "string", "example": "DUPLICATE_JOB_ID"}},
            "additionalProperties": True,
        },
        "description": "What the registry ignored in the document (docs/api.md, Index warnings).",
    }
)
class IndexWarningsField(serializers.JSONField):
    """Kongflow addition: `[{"code": "DUPLICATE_JOB_ID", "job": "dup", "versions": [...]}, ...]`."""


class EndpointIndexOutput(serializers.Serializer):
    id = serializers.CharField()
    endpointId = serializers.CharField(source="endpoint_id")
    createdAt = JsDateTimeField(source="created_at")
    updatedAt = JsDateTimeField(source="updated_at")
    # The wire field `source`: DRF's metaclass moves declared fields off the class; the stubs can't see that.
    source = serializers.ChoiceField(choices=IndexSource.choices)  # type: ignore[assignment]
    sourceData = serializers.JSONField(source="source_data", allow_null=True)
    reason = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=_STATUSES)
    stats = IndexStatsOutput(allow_null=True)
    error = IndexErrorOutput(allow_null=True)
    requests = serializers.IntegerField(help_text="How many index requests this run absorbed.")
    diff = serializers.JSONField(allow_null=True, help_text="What changed against the previous SUCCESS.")
    warnings = IndexWarningsField()


class EndpointHealthOutput(serializers.Serializer):
    """Kongflow addition: the endpoint's health, derived from recent index outcomes
    (see `endpoints.services.health`)."""

    state = serializers.ChoiceField(choices=EndpointHealth.choices, source="health_state")
    consecutiveFailures = serializers.IntegerField(source="consecutive_failures")
    failingSince = JsDateTimeField(source="failing_since", allow_null=True)
    lastIndexStatus = serializers.CharField(source="last_index_status", allow_null=True, help_text="SUCCESS or FAILURE")
    lastIndexAt = JsDateTimeField(source="last_index_at", allow_null=True)
    disabledAt = JsDateTimeField(
        source="disabled_at", allow_null=True, help_text="When the endpoint was disabled (state DISABLED), else null."
    )


class EndpointOutput(serializers.Serializer):
    """An endpoint; ``endpointIndex`` is the run its registration requested."""

    id = serializers.CharField()
    slug = serializers.CharField()
    url = serializers.CharField(allow_null=True)
    indexingHookIdentifier = serializers.CharField(source="indexing_hook_identifier")
    version = serializers.CharField()
    sdkVersion = serializers.CharField(source="sdk_version")
    runChunkExecutionLimit = serializers.IntegerField(source="run_chunk_execution_limit")
    startTaskThreshold = serializers.IntegerField(source="start_task_threshold")
    beforeExecuteTaskThreshold = serializers.IntegerField(source="before_execute_task_threshold")
    beforeCompleteTaskThreshold = serializers.IntegerField(source="before_complete_task_threshold")
    afterCompleteTaskThreshold = serializers.IntegerField(source="after_complete_task_threshold")
    environmentId = serializers.CharField(source="environment_id")
    organizationId = serializers.CharField(source="organization_id")
    projectId = serializers.CharField(source="project_id")
    createdAt = JsDateTimeField(source="created_at")
    updatedAt = JsDateTimeField(source="updated_at")
    health = EndpointHealthOutput(source="*")
    endpointIndex = serializers.SerializerMethodField()

    @extend_schema_field(EndpointIndexOutput)
    def get_endpointIndex(self, endpoint: Endpoint) -> dict[str, Any]:
        return EndpointIndexOutput(self.context["index"]).data


class IndexDiffOutput(serializers.Serializer):
    """The job ids a run added, removed and changed against the previous SUCCESS."""

    added = serializers.ListField(child=serializers.CharField())
    removed = serializers.ListField(child=serializers.CharField())
    changed = serializers.ListField(child=serializers.CharField())


class IndexStatusOutput(serializers.Serializer):
    """The CLI's poll shape (§3.5): ``stats`` and ``diff`` on SUCCESS, ``error`` on FAILURE;
    ``warnings`` (a Kongflow addition, which the CLI's schema ignores) on a SUCCESS that ignored something."""

    status = serializers.ChoiceField(choices=_STATUSES)
    updatedAt = JsDateTimeField(source="updated_at")
    stats = IndexStatsOutput(required=False)
    diff = IndexDiffOutput(
        required=False,
        allow_null=True,
        help_text="Kongflow addition (SUCCESS only); null for runs recorded without one.",
    )
    error = IndexErrorOutput(required=False)
    warnings = IndexWarningsField(required=False)

    def to_representation(self, instance: EndpointIndex) -> dict[str, Any]:
        body: dict[str, Any] = {"status": instance.status, "updatedAt": js_iso(instance.updated_at)}
        if instance.status == IndexStatus.SUCCESS:
            body["stats"] = IndexStatsOutput(instance.stats).data if instance.stats else {}
            body["diff"] = jobs_diff_summary(instance.diff)
            if instance.warnings:
                body["warnings"] = instance.warnings
        elif instance.status == IndexStatus.FAILURE:
            error = {"message": "Indexing failed", **(instance.error or {})}
            body["error"] = IndexErrorOutput(error).data
        return body


class NamedOutput(serializers.Serializer):
    id = serializers.CharField()
    slug = serializers.CharField()
    createdAt = JsDateTimeField(source="created_at")
    updatedAt = JsDateTimeField(source="updated_at")


class ProjectOutput(NamedOutput):
    name = serializers.CharField()


class OrganizationOutput(NamedOutput):
    title = serializers.CharField()


class WhoamiOutput(NamedOutput):
    """No `userId`: keys belong to environments here, not to users, and the 2.x CLI parses it as
    `z.string().optional()`, which rejects null ("API key is not authorized")."""

    type = serializers.ChoiceField(choices=EnvironmentType.choices)
    pkApiKey = serializers.CharField(source="pk_api_key")
    projectId = serializers.CharField(source="project_id")
    organizationId = serializers.CharField(source="organization_id")
    project = ProjectOutput()
    organization = OrganizationOutput()


class HookOutput(serializers.Serializer):
    ok = serializers.BooleanField()
