"""Organisations, projects and environments for operators (createenvironment, admin)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from endpointapi import EndpointApiError
from endpoints.errors import ApiKeyAlreadyRotated, InvalidEnvironmentOptions
from endpoints.models import Endpoint, EnvironmentType, Organization, Project, RuntimeEnvironment
from endpoints.models.tenancy import hash_key
from endpoints.services.clients import call_with_key_fallback
from endpoints.services.keys import api_key_matches_type, constant_time_equals, generate_api_key

logger = logging.getLogger(__name__)
KEY_CHECK_TASK = "endpoints.check_endpoint_key"  # sent by name: endpoints.tasks imports this module


@transaction.atomic
def environment_get_or_create(
    *, organization: str, project: str, env_type: str, api_key: str | None = None
) -> tuple[RuntimeEnvironment, bool]:
    """Idempotent: the same organisation/project/type gives the same environment.

    `api_key` pins the secret key (it must have the type's prefix); an existing environment whose
    key differs is re-keyed, so scripts can rely on a known key.
    """
    if env_type not in EnvironmentType.values:
        raise InvalidEnvironmentOptions(f"Unknown environment type {env_type!r}")
    if api_key is not None and not api_key_matches_type(api_key, env_type):
        prefix = generate_api_key(env_type, public=False).rsplit("_", 1)[0]
        raise InvalidEnvironmentOptions(f"--api-key must look like {prefix}_<letters and digits>")
    if api_key is not None and _is_a_previous_key(api_key):
        raise InvalidEnvironmentOptions("That API key is already used by another environment")
    org_slug, project_slug = slugify(organization), slugify(project)
    if not org_slug or not project_slug:
        raise InvalidEnvironmentOptions("Organization and project names need at least one letter or digit")
    org, _ = Organization.objects.get_or_create(slug=org_slug, defaults={"title": organization})
    proj, _ = Project.objects.get_or_create(slug=project_slug, defaults={"name": project, "organization": org})
    if proj.organization_id != org.id:
        raise InvalidEnvironmentOptions(f"Project {project_slug!r} belongs to another organization")
    environment = RuntimeEnvironment.objects.filter(project=proj, type=env_type).first()
    created = environment is None
    try:
        with transaction.atomic():
            if environment is None:
                environment = RuntimeEnvironment.objects.create(
                    project=proj,
                    organization=org,
                    type=env_type,
                    slug=env_type.lower(),
                    api_key=api_key or generate_api_key(env_type, public=False),
                    pk_api_key=generate_api_key(env_type, public=True),
                )
            elif api_key is not None and environment.api_key != api_key:
                # A pinned key replaces the current one at once: no rotation grace.
                environment.api_key = api_key
                environment.previous_api_key = None
                environment.previous_api_key_expires_at = None
                environment.save(
                    update_fields=["api_key", "previous_api_key", "previous_api_key_expires_at", "updated_at"]
                )
    except IntegrityError:
        raise InvalidEnvironmentOptions("That API key is already used by another environment") from None
    return environment, created


def _is_a_previous_key(api_key: str) -> bool:
    return RuntimeEnvironment.objects.filter(previous_api_key_hash=hash_key(api_key)).exists()


@dataclass(frozen=True)
class KeyRotation:
    environment: RuntimeEnvironment
    #: The new secret key: shown to the operator once, never logged.
    api_key: str
    #: Until when the replaced key still works (API and calls to endpoints).
    previous_key_expires_at: datetime


def environment_api_key_rotate(
    *, environment_id: str, grace: timedelta | None = None, expected_key_hash: str | None = None
) -> KeyRotation:
    """Give the environment a new secret key; the old one keeps working for `grace`
    (KONGFLOW_KEY_ROTATION_GRACE by default), so endpoints can be redeployed with the new key
    without downtime. Rotating again during a grace ends the older key's grace at once.

    `expected_key_hash` (the SHA-256 of the key the operator saw) makes it rotate only that key:
    a resubmitted confirmation raises ApiKeyAlreadyRotated instead of rotating twice, which would
    end the grace of the key the endpoints still use.
    """
    grace = settings.KONGFLOW_KEY_ROTATION_GRACE if grace is None else grace
    with transaction.atomic():
        environment = RuntimeEnvironment.objects.select_for_update().get(id=environment_id)
        if expected_key_hash is not None and not constant_time_equals(environment.api_key_hash, expected_key_hash):
            raise ApiKeyAlreadyRotated("The API key was rotated in the meantime; the new key is not shown again.")
        now = timezone.now()
        environment.previous_api_key = environment.api_key
        environment.previous_api_key_expires_at = now + grace
        environment.api_key = generate_api_key(environment.type, public=False)
        environment.api_key_rotated_at = now
        environment.save(
            update_fields=[
                "api_key",
                "previous_api_key",
                "previous_api_key_expires_at",
                "api_key_rotated_at",
                "updated_at",
            ]
        )
    logger.info(
        "environments.api_key_rotated",
        extra={
            "environment_id": environment.id,
            "grace_seconds": int(grace.total_seconds()),
            "previous_key_expires_at": environment.previous_api_key_expires_at.isoformat(),
        },
    )
    return KeyRotation(
        environment=environment,
        api_key=environment.api_key,
        previous_key_expires_at=environment.previous_api_key_expires_at,
    )


def environment_previous_key_revoke(*, environment_id: str) -> bool:
    """End a rotation grace now: the previous key stops working. False when there was none."""
    now = timezone.now()
    ended = RuntimeEnvironment.objects.filter(id=environment_id, previous_api_key_expires_at__gt=now).update(
        previous_api_key_expires_at=now, updated_at=now
    )
    if ended:
        logger.info("environments.previous_api_key_revoked", extra={"environment_id": environment_id})
    return bool(ended)


def endpoint_key_check(*, endpoint_id: str) -> str:
    """PING a live endpoint with the environment's keys (the current one first) and record which
    one it accepts. Returns "current", "previous", "deleted" or the error (a 401 when it accepts
    neither, or any other failure: nothing is recorded then)."""
    endpoint = Endpoint.objects.select_related("environment__organization").filter(id=endpoint_id).first()
    if endpoint is None or not endpoint.url:
        return "deleted"
    url = endpoint.url
    try:
        pong, key_hash = call_with_key_fallback(
            environment=endpoint.environment,
            url=url,
            call=lambda client: client.ping(endpoint.slug),
            endpoint=endpoint,
        )
    except EndpointApiError as exc:
        logger.info("environments.key_check_failed", extra={"endpoint_id": endpoint.id, "code": exc.code})
        return exc.message
    if not pong.ok:
        return pong.error or "Endpoint did not answer the ping"
    return "current" if key_hash == endpoint.environment.api_key_hash else "previous"


def environment_endpoints_key_check(*, environment_id: str) -> int:
    """Queue a key check of every live endpoint of the environment (after the commit); returns how many."""
    ids = list(Endpoint.objects.filter(environment_id=environment_id, url__isnull=False).values_list("id", flat=True))
    for endpoint_id in ids:
        transaction.on_commit(partial(current_app.send_task, KEY_CHECK_TASK, kwargs={"endpoint_id": endpoint_id}))
    return len(ids)
