"""Input serializers check shape only; output serializers render the v2 camelCase shapes."""

from __future__ import annotations

import re
from typing import Any

from rest_framework import serializers

from endpointapi.guard import InvalidUrl, parse_url
from endpoints.models import Endpoint, EndpointIndex, IndexStatus, RuntimeEnvironment
from endpoints.utils import js_iso, nul_path


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
    default_error_messages = {"nul": "Text must not contain NUL characters."}

    def to_internal_value(self, data: Any) -> Any:
        value = super().to_internal_value(data)
        if nul_path(value) is not None:
            self.fail("nul")
        return value


class EndpointIndexInput(serializers.Serializer):
    reason = StrictCharField(required=False, allow_blank=True, max_length=2000)
    data = StorableJSONField(required=False, allow_null=True)
    force = StrictBooleanField(required=False, default=False)


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
