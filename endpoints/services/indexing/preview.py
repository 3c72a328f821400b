"""Dry runs (`reindex --dry-run`): fetch, validate, plan and diff, writing nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from endpoints.models import Endpoint
from endpoints.selectors import endpoint_index_latest_success
from endpoints.services.diff import document_diff
from endpoints.services.registry import RegistryPlan, registry_plan

from .failures import IndexFailure
from .fetch import fetch_index


@dataclass
class IndexPreview:
    endpoint: Endpoint
    plan: RegistryPlan | None = None
    diff: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    shrink: str | None = None


def endpoint_index_preview(*, endpoint: Endpoint) -> IndexPreview:
    """Fetch, validate, plan and diff without writing anything (redirects are followed, not stored)."""
    preview = IndexPreview(endpoint=endpoint)
    try:
        result = fetch_index(endpoint, record_key=False)
    except IndexFailure as failure:
        preview.error = failure.error
        return preview
    preview.plan = registry_plan(endpoint=endpoint, data=result.data)
    preview.shrink = preview.plan.suspicious_shrink()
    previous = endpoint_index_latest_success(endpoint_id=endpoint.id)
    preview.diff = document_diff(previous.data if previous else None, result.data)
    return preview
