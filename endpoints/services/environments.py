"""Organisations, projects and environments for operators (createenvironment, admin)."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from endpoints.errors import InvalidEnvironmentOptions
from endpoints.models import EnvironmentType, Organization, Project, RuntimeEnvironment
from endpoints.services.keys import api_key_matches_type, generate_api_key


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
                environment.api_key = api_key
                environment.save(update_fields=["api_key", "updated_at"])
    except IntegrityError:
        raise InvalidEnvironmentOptions("That API key is already used by another environment") from None
    return environment, created
