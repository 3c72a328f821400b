import pytest
from django.contrib.auth import get_user_model

from tests import factories
from tests.conftest import DEV_KEY
from tests.registry.conftest import job
from tests.support.misbehaving import MisbehavingEndpoint


@pytest.fixture
def admin_client(client, db):
    user = get_user_model().objects.create_superuser("ops", "ops@example.com", "pw")
    client.force_login(user)
    return client


@pytest.fixture
def misbehaving():
    with MisbehavingEndpoint() as server:
        yield server


def invalid_jobs(handler):
    """An SDK-shaped answer with two broken jobs: INVALID_DOCUMENT with one line per job."""
    one = job("broken-one")
    del one["event"]
    handler.json(
        200,
        {
            "jobs": [job("fine-job"), one, job("broken-two", version=2)],
            "sources": [],
            "dynamicTriggers": [],
            "dynamicSchedules": [],
        },
        headers={"trigger-version": "2023-09-29", "trigger-sdk-version": "2.3.19"},
    )


def server_error(handler):
    handler._send(500, b'{"message":"boom tr_dev_kongflowTestKey0001"}', headers={"x-request-id": "r-1"})


@pytest.fixture
def failing_endpoint(dev_environment, misbehaving):
    url = misbehaving.route("/invalid/api/trigger", invalid_jobs)
    return factories.EndpointFactory(environment=dev_environment, slug="broken-app", url=url)


__all__ = ["DEV_KEY"]
