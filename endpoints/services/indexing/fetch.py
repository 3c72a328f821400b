"""INDEX_ENDPOINT for a run or a preview, and what is checked and stored of its answer."""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

from django.utils import timezone

from endpointapi import EndpointApiClient, EndpointApiError, EndpointRedirect, IndexResult
from endpoints.index_errors import index_error
from endpoints.models import Endpoint
from endpoints.services.clients import call_with_key_fallback, endpoint_client
from endpoints.utils import nul_path

from .failures import IndexFailure

MAX_REDIRECTS = 5


def fetch_index(endpoint: Endpoint, *, persist_redirects: bool) -> IndexResult:
    """INDEX_ENDPOINT with manual redirects: follow at most MAX_REDIRECTS, storing the new URL (§5.4)."""
    if not endpoint.url:
        raise IndexFailure(index_error("ENDPOINT_DELETED", "Endpoint URL is not set"))
    for redirects in range(MAX_REDIRECTS + 1):
        try:
            result, _ = call_with_key_fallback(
                environment=endpoint.environment,
                make_client=lambda api_key: endpoint_client(url=str(endpoint.url), api_key=api_key),
                call=EndpointApiClient.index_endpoint,
                endpoint=endpoint,
                record=persist_redirects,  # a preview writes nothing
            )
            return result
        except EndpointRedirect as exc:
            if not exc.location:
                message = f"Endpoint {endpoint.url} is redirecting but no location header is present"
                raise IndexFailure(index_error("REDIRECT_WITHOUT_LOCATION", message)) from exc
            if redirects == MAX_REDIRECTS:
                message = f"Endpoint {endpoint.url} is redirecting too many times"
                raise IndexFailure(index_error("REDIRECT_LOOP", message)) from exc
            # Resolved against the current URL: a relative Location would otherwise be stored as-is.
            endpoint.url = urljoin(endpoint.url, exc.location)
            if persist_redirects:
                Endpoint.objects.filter(id=endpoint.id).update(url=endpoint.url, updated_at=timezone.now())
        except EndpointApiError as exc:
            raise IndexFailure(index_error(exc.code, exc.message, raw=exc.raw), retryable=exc.retryable) from exc
    raise AssertionError("unreachable")


def reject_unstorable(data: dict[str, Any]) -> None:
    """A NUL character is valid JSON but cannot be stored: fail like any invalid document."""
    path = nul_path(data)
    if path is None:
        return
    at = ".".join(str(part) for part in path)
    if len(path) >= 2 and path[0] == "jobs" and isinstance(path[1], int):
        job_id = data["jobs"][path[1]].get("id", path[1])
        rest = ".".join(str(part) for part in path[2:])
        message = f'Your Jobs have issues:\n- Job "{job_id}": Text must not contain NUL characters at "{rest}".'
    else:
        message = f'There\'s an issue with the format of your Jobs: text must not contain NUL characters at "{at}".'
    raise IndexFailure(index_error("INVALID_DOCUMENT", message))


def store_versions(endpoint: Endpoint, result: IndexResult) -> None:
    """One UPDATE when a version header changed; an absent header leaves its column as it is (§2.12)."""
    version = result.trigger_version or endpoint.version
    sdk_version = result.trigger_sdk_version or endpoint.sdk_version
    if (version, sdk_version) != (endpoint.version, endpoint.sdk_version):
        endpoint.version, endpoint.sdk_version = version, sdk_version
        Endpoint.objects.filter(id=endpoint.id).update(
            version=version, sdk_version=sdk_version, updated_at=timezone.now()
        )
