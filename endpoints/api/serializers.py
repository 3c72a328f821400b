"""Input serializers check shape only; output serializers render the v2 camelCase shapes."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from rest_framework import serializers

from endpoints.models import Endpoint, EndpointIndex, IndexStatus, RuntimeEnvironment
from endpoints.utils import js_iso, nul_path


class StrictCharField(serializers.CharField):
    """A string, never a number or boolean coerced to one (zod's z.string())."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class EndpointUrlField(StrictCharField):
    """An absolute http(s) URL. Unlike Django's URLValidator it accepts hosts without a TLD
    (`http://web:3000/api/trigger` in docker-compose), as the original's `new URL()` check does."""

    default_error_messages = {"invalid": "Invalid url"}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=2000, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        url = super().to_internal_value(data)
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            self.fail("invalid")
        if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
            self.fail("invalid")
        return url


class EndpointRegisterInput(serializers.Serializer):
    id = StrictCharField(max_length=200, trim_whitespace=False)
    url = EndpointUrlField()


class EndpointValidateInput(serializers.Serializer):
    url = EndpointUrlField()


class StorableJSONField(serializers.JSONField):
    default_error_messages = {"nul": "Text must not contain NUL characters."}

    def to_internal_value(self, data: Any) -> Any:
        value = super().to_internal_value(data)
        if nul_path(value) is not None:
            self.fail("nul")
        return value


class EndpointIndexInput(serializers.Serializer):
    reason = StrictCharField(required=False, allow_blank=True, max_length=2000)
    data = StorableJSONField(required=False, allow_null=True)
    force = serializers.BooleanField(required=False, default=False)


def endpoint_index_output(index: EndpointIndex, *, include_data: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": index.id,
        "endpointId": index.endpoint_id,
        "createdAt": js_iso(index.created_at),
        "updatedAt": js_iso(index.updated_at),
        "source": index.source,
        "sourceData": index.source_data,
        "reason": index.reason,
        "status": index.status,
        "stats": index.stats,
        "error": index.error,
        "requests": index.requests,
        "diff": index.diff,
    }
    if include_data:
        body["data"] = index.data
    return body


def endpoint_output(endpoint: Endpoint, *, index: EndpointIndex | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": endpoint.id,
        "slug": endpoint.slug,
        "url": endpoint.url,
        "indexingHookIdentifier": endpoint.indexing_hook_identifier,
        "version": endpoint.version,
        "sdkVersion": endpoint.sdk_version,
        "runChunkExecutionLimit": endpoint.run_chunk_execution_limit,
        "startTaskThreshold": endpoint.start_task_threshold,
        "beforeExecuteTaskThreshold": endpoint.before_execute_task_threshold,
        "beforeCompleteTaskThreshold": endpoint.before_complete_task_threshold,
        "afterCompleteTaskThreshold": endpoint.after_complete_task_threshold,
        "environmentId": endpoint.environment_id,
        "organizationId": endpoint.organization_id,
        "projectId": endpoint.project_id,
        "createdAt": js_iso(endpoint.created_at),
        "updatedAt": js_iso(endpoint.updated_at),
    }
    if index is not None:
        body["endpointIndex"] = endpoint_index_output(index)
    return body


def endpoint_index_status_output(index: EndpointIndex) -> dict[str, Any]:
    """The CLI's poll shape (§3.5), discriminated on status."""
    body: dict[str, Any] = {"status": index.status, "updatedAt": js_iso(index.updated_at)}
    if index.status == IndexStatus.SUCCESS:
        body["stats"] = index.stats or {}
    elif index.status == IndexStatus.FAILURE:
        error = index.error or {}
        body["error"] = {k: v for k, v in error.items() if k in ("message", "raw", "code", "hint")}
        body["error"].setdefault("message", "Indexing failed")
    return body


def whoami_output(environment: RuntimeEnvironment) -> dict[str, Any]:
    project, organization = environment.project, environment.organization
    return {
        "id": environment.id,
        "slug": environment.slug,
        "type": environment.type,
        "createdAt": js_iso(environment.created_at),
        "updatedAt": js_iso(environment.updated_at),
        "pkApiKey": environment.pk_api_key,
        # No `userId`: keys belong to environments here, not to users, and the 2.x CLI parses it
        # as `z.string().optional()`, which rejects null ("API key is not authorized").
        "projectId": project.id,
        "organizationId": organization.id,
        "project": {
            "id": project.id,
            "slug": project.slug,
            "name": project.name,
            "createdAt": js_iso(project.created_at),
            "updatedAt": js_iso(project.updated_at),
        },
        "organization": {
            "id": organization.id,
            "slug": organization.slug,
            "title": organization.title,
            "createdAt": js_iso(organization.created_at),
            "updatedAt": js_iso(organization.updated_at),
        },
    }
