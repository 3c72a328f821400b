"""The worker exports what it measures: endpoint calls and index outcomes, from its prefork children."""

import re

import pytest
import requests

from endpoints.models import IndexSource, IndexStatus
from endpoints.services.indexing import endpoint_index_request
from tests import factories
from tests.support.web import free_port
from tests.support.worker import Worker, assert_no_consumer, wait_for, wait_for_status

# This module starts (or plays) its own workers: no shared one (see conftest).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.own_workers]



def sample(body: str, name: str, **labels: str) -> float:
    selector = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    match = re.search(rf"^{name}\{{{re.escape(selector)}\}} (\S+)$", body, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_worker_metrics_count_endpoint_calls_and_index_outcomes(dev_environment, sdk_basic, tmp_path):
    assert_no_consumer()
    port = free_port()
    worker = Worker(
        env={
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
            "KONGFLOW_WORKER_METRICS_PORT": str(port),
            "KONGFLOW_WORKER_METRICS_ADDR": "127.0.0.1",
        }
    ).start()
    try:
        endpoint = factories.EndpointFactory(environment=dev_environment, slug="my-endpoint", url=sdk_basic.url)
        index = endpoint_index_request(endpoint=endpoint, source=IndexSource.INTERNAL)
        wait_for_status(index.id, IndexStatus.SUCCESS, what="the index")

        def scraped():
            body = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            return (
                body if sample(body, "kongflow_endpoint_indexes_total", source="INTERNAL", status="SUCCESS") else None
            )

        body = wait_for(scraped, timeout=10, what="the worker's metrics")
    finally:
        worker.stop()
    assert sample(body, "kongflow_endpoint_indexes_total", source="INTERNAL", status="SUCCESS") == 1.0
    assert sample(body, "kongflow_endpointapi_requests_total", action="INDEX_ENDPOINT", outcome="ok") == 1.0
    assert sample(body, "kongflow_endpointapi_request_duration_seconds_count", action="INDEX_ENDPOINT") == 1.0
