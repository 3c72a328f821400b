"""factory_boy factories that stay consistent: an endpoint's org/project follow its environment."""

from __future__ import annotations

import factory

from endpoints import models
from endpoints.services.keys import generate_api_key, generate_hook_identifier


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Organization

    slug = factory.Sequence(lambda n: f"org-{n}")
    title = factory.Sequence(lambda n: f"Org {n}")


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Project

    slug = factory.Sequence(lambda n: f"project-{n}")
    name = factory.Sequence(lambda n: f"Project {n}")
    organization = factory.SubFactory(OrganizationFactory)


class RuntimeEnvironmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.RuntimeEnvironment

    class Params:
        env_type = models.EnvironmentType.DEVELOPMENT

    project = factory.SubFactory(ProjectFactory)
    organization = factory.SelfAttribute("project.organization")
    type = factory.SelfAttribute("env_type")
    slug = factory.LazyAttribute(lambda o: o.type.lower())
    api_key = factory.LazyAttribute(lambda o: generate_api_key(o.type, public=False))
    pk_api_key = factory.LazyAttribute(lambda o: generate_api_key(o.type, public=True))


class EndpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Endpoint

    environment = factory.SubFactory(RuntimeEnvironmentFactory)
    organization = factory.SelfAttribute("environment.organization")
    project = factory.SelfAttribute("environment.project")
    slug = factory.Sequence(lambda n: f"endpoint-{n}")
    url = factory.LazyAttribute(lambda o: f"http://127.0.0.1:9/{o.slug}/api/trigger")
    indexing_hook_identifier = factory.LazyFunction(generate_hook_identifier)


class EndpointIndexFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.EndpointIndex

    endpoint = factory.SubFactory(EndpointFactory)
    source = models.IndexSource.INTERNAL
    status = models.IndexStatus.PENDING
