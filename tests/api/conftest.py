"""The registry API's tests: keys of environments the SDK fixtures answer to, and a key of
another organization that must never see their data."""

import pytest
from rest_framework.test import APIClient

from endpoints.models import EnvironmentType
from tests import factories
from tests.support.indexing import index_now


def client_for(environment) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {environment.api_key}")
    return client


@pytest.fixture
def owner(dev_environment):
    """The key of the environment `sdk_basic` and `sdk_full` answer to."""
    return client_for(dev_environment)


@pytest.fixture
def prod_owner(prod_sdk_environment):
    return client_for(prod_sdk_environment)


@pytest.fixture
def stranger(db):
    """A key of another organization."""
    return client_for(factories.RuntimeEnvironmentFactory(env_type=EnvironmentType.PRODUCTION))


@pytest.fixture
def full_endpoint(dev_environment, sdk_full):
    """`my-endpoint` on the real SDK's `full` scenario, indexed once."""
    endpoint = factories.EndpointFactory(environment=dev_environment, slug="my-endpoint", url=sdk_full.url)
    index = index_now(endpoint)
    assert index.status == "SUCCESS", index.error
    return endpoint
