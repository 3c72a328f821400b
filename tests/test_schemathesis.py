"""Schemathesis against the live OpenAPI schema, every check, a bounded number of examples per
operation: no server error, every response as the schema describes it.

Generated URLs are refused by the outbound guard (a PRODUCTION environment, no allow-list) and a
test fence makes sure nothing beyond loopback is ever looked up or connected to.
"""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from endpoints.models import EnvironmentType
from tests import factories
from tests.support.outbound import loopback_only

EXAMPLES_PER_OPERATION = 25


def _live_schema() -> schemathesis.BaseSchema:
    """The schema as the running app serves it (read once, when the module is collected)."""
    from kongflow.wsgi import application

    return schemathesis.openapi.from_wsgi("/api/schema?format=json", application, config=CONFIG)


# A schema-valid registration still answers 400 when the URL does not answer the PING (here: the
# guard refuses it, or it does not resolve): that is the documented 400, not a rejected shape.
CONFIG = schemathesis.config.SchemathesisConfig.from_str(
    """
[[operations]]
include-path-regex = "^/api/v1/endpoints(/validate)?$"
include-method = "POST"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "429"]

# A schema-valid channel is still a documented 400 past KONGFLOW_MAX_ALERT_CHANNELS (the examples share
# one environment), for a target it already has, or an address Django's validator does not take.
[[operations]]
include-path-regex = "^/api/v1/alert-channels$"
include-method = "POST"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "429"]
"""
)


schema = _live_schema()


@pytest.fixture(autouse=True)
def _in_process(db, settings):
    settings.ENDPOINTAPI_ALLOWED_NETWORKS = ""
    settings.KONGFLOW_INDEX_API_WAIT_SECONDS = 0
    settings.ENDPOINTAPI_RETRIES = 0
    settings.KONGFLOW_THROTTLE_REGISTER = settings.KONGFLOW_THROTTLE_INDEX = settings.KONGFLOW_THROTTLE_HOOK = ""
    # Requests run inside the test's transaction: like Django's test client, keep the end of a
    # request from closing the connection that holds it.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_key(db):
    environment = factories.RuntimeEnvironmentFactory(env_type=EnvironmentType.PRODUCTION)
    factories.EndpointFactory(environment=environment, slug="my-endpoint", url="https://203.0.113.9/api/trigger")
    return environment.api_key


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_keeps_its_schema(case, api_key):
    with loopback_only():
        case.call_and_validate(headers={"Authorization": f"Bearer {api_key}"})
    CALLS[case.operation.label] += 1


#: Requests made per operation (printed with `-s`: the figures quoted in the README).
CALLS: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _report_calls():
    yield
    if CALLS:
        print(f"\nschemathesis: {len(CALLS)} operations, {sum(CALLS.values())} requests: {dict(CALLS)}")
