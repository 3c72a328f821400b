"""Deploy hooks (§3.4): unauthenticated, the endpoint's hook identifier is the secret."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings

from endpoints.errors import EndpointDisabled, EndpointNotFound, InvalidHookIdentifier
from endpoints.models import EndpointHealth, EndpointIndex, IndexSource
from endpoints.selectors import endpoint_for_hook
from endpoints.services.indexing import endpoint_index_join_by_hook, endpoint_index_request
from endpoints.services.keys import constant_time_equals
from endpoints.utils import unstorable_path

_VERCEL_TYPES = {
    "deployment.succeeded",
    "deployment.failed",
    "deployment.ready",
    "deployment.created",
    "deployment.error",
    "deployment.canceled",
}
_GITHUB_META = (
    "githubCommitAuthorName",
    "githubCommitMessage",
    "githubCommitOrg",
    "githubCommitRef",
    "githubCommitRepo",
    "githubCommitSha",
    "githubDeployment",
    "githubOrg",
    "githubRepo",
    "githubRepoOwnerType",
    "githubCommitRepoId",
    "githubRepoId",
    "githubRepoVisibility",
    "githubCommitAuthorLogin",
    "branchAlias",
)


def endpoint_index_hook(*, environment_id: str, slug: str, hook_identifier: str, raw_body: bytes) -> EndpointIndex:
    """Request a HOOK index that runs a few seconds later (deploys settle first).

    A storm of hooks for one endpoint mostly joins its PENDING run: one statement that also checks
    the identifier (`endpoint_index_join_by_hook`). Otherwise the endpoint is looked up, the
    identifier compared in constant time, and the run joined or created, unless the endpoint is
    disabled (409, `EndpointDisabled`; the one-statement join skips disabled endpoints). (The body, already in
    memory and capped, is parsed first: a join records its reason.)"""
    body = parse_lenient_json(raw_body)
    reason = hook_reason(body)
    delay = settings.KONGFLOW_HOOK_DELAY_SECONDS
    joined = endpoint_index_join_by_hook(
        environment_id=environment_id, slug=slug, hook_identifier=hook_identifier, reason=reason, delay=delay
    )
    if joined is not None:
        return joined
    endpoint = endpoint_for_hook(environment_id=environment_id, slug=slug)
    if endpoint is None:
        raise EndpointNotFound()
    if not constant_time_equals(endpoint.indexing_hook_identifier or "", hook_identifier):
        raise InvalidHookIdentifier()
    if endpoint.health == EndpointHealth.DISABLED:
        raise EndpointDisabled(slug=slug, failures=endpoint.consecutive_failures)
    return endpoint_index_request(
        endpoint=endpoint, source=IndexSource.HOOK, reason=reason, source_data=body, delay=delay
    )


def parse_lenient_json(raw: bytes) -> Any:
    """Empty, invalid or unstorable (NUL characters, unpaired surrogates) JSON -> None: the original is
    lenient here."""
    if not raw.strip():
        return None
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return None if unstorable_path(body) is not None else body


def hook_reason(body: Any) -> str | None:
    """The index reason for a Vercel `deployment.succeeded` webhook; None for any other body."""
    if not _is_vercel_deployment(body) or body["type"] != "deployment.succeeded":
        return None
    deployment = body["payload"]["deployment"]
    meta = deployment["meta"]
    if all(isinstance(meta.get(key), str) for key in _GITHUB_META):
        return (
            f'"{meta["githubCommitMessage"]}" was deployed from {meta["githubCommitRef"]} '
            f"({meta['githubCommitSha'][:7]}) to {deployment['name']}"
        )
    return f"Vercel project {deployment['name']} was deployed to {deployment['url']}"


def _is_vercel_deployment(body: Any) -> bool:
    def obj(value: Any) -> bool:
        return isinstance(value, dict)

    def strings(container: dict[str, Any], *keys: str) -> bool:
        return all(isinstance(container.get(key), str) for key in keys)

    if not obj(body) or not isinstance(body.get("id"), str) or body.get("type") not in _VERCEL_TYPES:
        return False
    if not isinstance(body.get("createdAt"), int | float) or isinstance(body.get("createdAt"), bool):
        return False
    payload = body.get("payload")
    if not obj(payload) or not strings(payload, "name", "plan", "target", "type", "url"):
        return False
    if not isinstance(payload.get("regions"), list) or not all(isinstance(r, str) for r in payload["regions"]):
        return False
    user, team, project, links = (payload.get(k) for k in ("user", "team", "project", "links"))
    deployment = payload.get("deployment")
    return (
        obj(user)
        and strings(user, "id")
        and obj(team)
        and strings(team, "id")
        and obj(project)
        and strings(project, "id")
        and obj(links)
        and strings(links, "deployment", "project")
        and obj(deployment)
        and strings(deployment, "id", "name", "url", "inspectorUrl")
        and obj(deployment.get("meta"))
    )
