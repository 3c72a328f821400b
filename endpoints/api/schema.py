"""OpenAPI description of the API (drf-spectacular): response shapes and the bearer-key scheme.

The views render plain dicts in the v2 shapes; these serializers only document them.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import serializers


class EnvironmentApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "endpoints.api.authentication.EnvironmentApiKeyAuthentication"
    name = "environmentApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "The environment's secret API key (tr_dev_…, tr_prod_…).",
        }


class ErrorOutput(serializers.Serializer):
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


class EndpointIndexOutput(serializers.Serializer):
    id = serializers.CharField()
    endpointId = serializers.CharField()
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()
    source = serializers.ChoiceField(choices=["MANUAL", "API", "INTERNAL", "HOOK"])
    sourceData = serializers.JSONField(allow_null=True)
    reason = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=["PENDING", "STARTED", "SUCCESS", "FAILURE"])
    stats = IndexStatsOutput(allow_null=True)
    error = IndexErrorOutput(allow_null=True)
    requests = serializers.IntegerField(help_text="How many index requests this run absorbed.")
    diff = serializers.JSONField(allow_null=True, help_text="What changed against the previous SUCCESS.")


class EndpointHealthOutput(serializers.Serializer):
    state = serializers.ChoiceField(choices=["NEVER_INDEXED", "HEALTHY", "DEGRADED", "FAILING", "DELETED"])
    consecutiveFailures = serializers.IntegerField()
    failingSince = serializers.DateTimeField(allow_null=True)
    lastIndexStatus = serializers.CharField(allow_null=True, help_text="SUCCESS or FAILURE")
    lastIndexAt = serializers.DateTimeField(allow_null=True)


class EndpointOutput(serializers.Serializer):
    id = serializers.CharField()
    slug = serializers.CharField()
    url = serializers.CharField(allow_null=True)
    indexingHookIdentifier = serializers.CharField()
    version = serializers.CharField()
    sdkVersion = serializers.CharField()
    runChunkExecutionLimit = serializers.IntegerField()
    startTaskThreshold = serializers.IntegerField()
    beforeExecuteTaskThreshold = serializers.IntegerField()
    beforeCompleteTaskThreshold = serializers.IntegerField()
    afterCompleteTaskThreshold = serializers.IntegerField()
    environmentId = serializers.CharField()
    organizationId = serializers.CharField()
    projectId = serializers.CharField()
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()
    health = EndpointHealthOutput(help_text="Kongflow addition: health derived from recent index outcomes.")
    endpointIndex = EndpointIndexOutput()


class IndexStatusOutput(serializers.Serializer):
    status = serializers.ChoiceField(choices=["PENDING", "STARTED", "SUCCESS", "FAILURE"])
    updatedAt = serializers.DateTimeField()
    stats = IndexStatsOutput(required=False)
    error = IndexErrorOutput(required=False)


class NamedOutput(serializers.Serializer):
    id = serializers.CharField()
    slug = serializers.CharField()
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()


class ProjectOutput(NamedOutput):
    name = serializers.CharField()


class OrganizationOutput(NamedOutput):
    title = serializers.CharField()


class WhoamiOutput(NamedOutput):
    type = serializers.ChoiceField(choices=["PRODUCTION", "STAGING", "DEVELOPMENT", "PREVIEW"])
    pkApiKey = serializers.CharField()
    projectId = serializers.CharField()
    organizationId = serializers.CharField()
    project = ProjectOutput()
    organization = OrganizationOutput()


class HookOutput(serializers.Serializer):
    ok = serializers.BooleanField()
