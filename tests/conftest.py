import pytest

from endpoints.models import EnvironmentType
from tests import factories
from tests.support.sdk import start_endpoint

DEV_KEY = "tr_dev_kongflowTestKey0001"
PROD_KEY = "tr_prod_kongflowTestKey0001"


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """Throttle counters (local memory) must not leak from one test into the next."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def environment(db):
    return factories.RuntimeEnvironmentFactory()


@pytest.fixture
def prod_environment(db):
    return factories.RuntimeEnvironmentFactory(env_type=EnvironmentType.PRODUCTION)


@pytest.fixture
def endpoint(environment):
    return factories.EndpointFactory(environment=environment)


@pytest.fixture
def dev_environment(db):
    """A DEVELOPMENT environment whose secret key the SDK fixtures are started with."""
    return factories.RuntimeEnvironmentFactory(api_key=DEV_KEY)


@pytest.fixture
def prod_sdk_environment(db):
    return factories.RuntimeEnvironmentFactory(env_type=EnvironmentType.PRODUCTION, api_key=PROD_KEY)


def _sdk(scenario: str, api_key: str = DEV_KEY, endpoint_id: str = "my-endpoint"):
    endpoint = start_endpoint(api_key=api_key, endpoint_id=endpoint_id, scenario=scenario)
    yield endpoint
    endpoint.stop()


@pytest.fixture(scope="session")
def sdk_basic():
    """A real SDK 2.3.19 endpoint, scenario `basic`, id `my-endpoint`, key DEV_KEY."""
    yield from _sdk("basic")


@pytest.fixture(scope="session")
def sdk_full():
    yield from _sdk("full")


@pytest.fixture(scope="session")
def sdk_basic_prod():
    yield from _sdk("basic", api_key=PROD_KEY)


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def auth_client(api_client, dev_environment):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {dev_environment.api_key}")
    return api_client
