"""100 concurrent deploy-hook calls on one endpoint -> exactly one INDEX_ENDPOINT request reaches it."""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from endpoints.models import EndpointIndex, IndexStatus
from tests import factories
from tests.conftest import DEV_KEY
from tests.support.sdk import sdk_endpoint
from tests.support.worker import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_hook_calls_make_one_index_request(live_api, dev_environment, tmp_path, settings):
    settings.KONGFLOW_HOOK_DELAY_SECONDS = 5  # every call lands before the run starts
    log = tmp_path / "requests.jsonl"
    with sdk_endpoint(
        api_key=DEV_KEY, endpoint_id="hooked", scenario="basic", extra_args=["--request-log", str(log)]
    ) as sdk:
        endpoint = factories.EndpointFactory(environment=dev_environment, slug="hooked", url=sdk.url)
        url = (
            f"{live_api}/api/v1/endpoints/{endpoint.environment_id}/{endpoint.slug}/index/"
            f"{endpoint.indexing_hook_identifier}"
        )
        with ThreadPoolExecutor(max_workers=20) as pool:
            statuses = list(pool.map(lambda _: requests.post(url, timeout=30).status_code, range(100)))
        assert statuses == [200] * 100
        index = wait_for(
            lambda: EndpointIndex.objects.filter(endpoint=endpoint, status=IndexStatus.SUCCESS).first(),
            timeout=30,
            what="the hook index",
        )
        wait_for(lambda: log.exists(), timeout=5, what="the request log")
        assert not EndpointIndex.objects.filter(endpoint=endpoint, status__in=["PENDING", "STARTED"]).exists()
    assert EndpointIndex.objects.filter(endpoint=endpoint).count() == 1
    assert index.requests == 100
    actions = [json.loads(line)["action"] for line in log.read_text().splitlines()]
    assert actions.count("INDEX_ENDPOINT") == 1
