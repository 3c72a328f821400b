"""Reads that more than one interface needs."""

from __future__ import annotations

from django.db.models import QuerySet

from endpoints.errors import EndpointIndexNotFound, EndpointNotFound
from endpoints.models import Endpoint, EndpointIndex, IndexStatus, RuntimeEnvironment
from endpoints.models.tenancy import hash_key
from endpoints.services.keys import constant_time_equals


def environment_for_api_key(api_key: str) -> RuntimeEnvironment | None:
    """The environment whose secret key this is, unless its project or organization is deleted."""
    environment = (
        RuntimeEnvironment.objects.select_related("project", "organization")
        .filter(api_key_hash=hash_key(api_key))
        .first()
    )
    if environment is None or not constant_time_equals(environment.api_key, api_key):
        return None
    if environment.project.deleted_at is not None or environment.organization.deleted_at is not None:
        return None
    return environment


def endpoint_get(*, environment: RuntimeEnvironment, slug: str) -> Endpoint:
    try:
        return Endpoint.objects.get(environment=environment, slug=slug)
    except Endpoint.DoesNotExist:
        raise EndpointNotFound() from None


def endpoint_index_get(*, environment: RuntimeEnvironment, index_id: str) -> EndpointIndex:
    try:
        return EndpointIndex.objects.get(id=index_id, endpoint__environment=environment)
    except EndpointIndex.DoesNotExist:
        raise EndpointIndexNotFound() from None


def endpoint_index_latest_success(*, endpoint_id: str) -> EndpointIndex | None:
    """The endpoint's last SUCCESS run: what a new index is diffed against. Its `data` (the whole
    document) is loaded on first access only: an unchanged re-index never needs it."""
    return (
        EndpointIndex.objects.filter(endpoint_id=endpoint_id, status=IndexStatus.SUCCESS)
        .order_by("-created_at")
        .only("id", "document_hash", "registry_generation", "stats")
        .first()
    )


def endpoints_for_reindex(
    *, endpoint: str | None = None, environment_id: str | None = None, all_endpoints: bool = False
) -> QuerySet[Endpoint]:
    """Live endpoints (url set) chosen by slug or id, by environment, or all of them."""
    queryset = Endpoint.objects.filter(url__isnull=False).select_related("environment").order_by("created_at")
    if endpoint is not None:
        queryset = queryset.filter(id=endpoint) | queryset.filter(slug=endpoint)
    if environment_id is not None:
        queryset = queryset.filter(environment_id=environment_id)
    if endpoint is None and environment_id is None and not all_endpoints:
        return queryset.none()
    return queryset
