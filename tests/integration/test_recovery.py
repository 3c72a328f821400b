"""Nothing lost: a broker that is down at commit time, and a worker killed in the middle of an index."""

import json
import time

import pytest

from endpoints.models import EndpointIndex, IndexSource, IndexStatus
from endpoints.services.indexing import endpoint_index_request
from tests import factories
from tests.conftest import DEV_KEY, PROD_KEY
from tests.integration.conftest import FAST_RECOVERY
from tests.support.sdk import sdk_endpoint
from tests.support.web import WebProcess, register_endpoint
from tests.support.worker import Worker, wait_for_status

# This module starts (or plays) its own workers: no shared one (see conftest).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.own_workers]




def test_registration_while_the_broker_is_down_is_indexed_once_it_is_back(dev_environment, sdk_basic):
    with WebProcess(env={"CELERY_BROKER_URL": "redis://127.0.0.1:1/0"}) as web:
        response = register_endpoint(web.url, slug="my-endpoint", url=sdk_basic.url, api_key=DEV_KEY)
    assert response.status_code == 200, response.text
    index = EndpointIndex.objects.get(id=response.json()["endpointIndex"]["id"])
    assert index.status == IndexStatus.PENDING  # the row survived the failed dispatch
    assert "endpoints.index.dispatch_failed" in web.log_path.read_text()

    worker = Worker(beat=True, env=FAST_RECOVERY).start()
    try:
        wait_for_status(index.id, IndexStatus.SUCCESS, timeout=60, what="the sweeper to re-dispatch the index")
    finally:
        worker.stop()
    index.refresh_from_db()
    assert index.stats["jobs"] == 2


def test_a_worker_killed_mid_index_is_recovered_by_another_within_lease_plus_sweep(prod_sdk_environment, tmp_path):
    """SIGKILL mid-fetch; the second worker's beat recovers the run once its lease expires. The
    bound is lease + sweep interval + the index itself: with the defaults (40 s + 15 s) that is
    ~55 s + the index; here the same path runs with short settings (FAST_RECOVERY)."""
    log = tmp_path / "requests.jsonl"
    lease = float(FAST_RECOVERY["KONGFLOW_INDEX_LEASE_SECONDS"])
    sweep = float(FAST_RECOVERY["KONGFLOW_SWEEP_INTERVAL_SECONDS"])
    with sdk_endpoint(
        api_key=PROD_KEY,
        endpoint_id="slow",
        scenario="slow",
        extra_args=["--index-delay-ms", "3000", "--request-log", str(log)],
    ) as slow:
        endpoint = factories.EndpointFactory(environment=prod_sdk_environment, slug="slow", url=slow.url)
        first = Worker(beat=False, env=FAST_RECOVERY).start()
        try:
            index = endpoint_index_request(endpoint=endpoint, source=IndexSource.INTERNAL)
            # the fetch is under way from here, for 3 s (the request log is written when it is answered)
            wait_for_status(index.id, IndexStatus.STARTED, timeout=30, what="the first worker to start the index")
        finally:
            first.kill()
        killed_at = time.monotonic()
        second = Worker(beat=True, env=FAST_RECOVERY).start()
        try:
            wait_for_status(index.id, IndexStatus.SUCCESS, timeout=60, what="the orphaned index to be recovered")
            recovery = time.monotonic() - killed_at
        finally:
            second.stop()
    index.refresh_from_db()
    print(f"\nworker-loss recovery (SIGKILL -> SUCCESS, lease {lease:g}s, sweep {sweep:g}s): {recovery:.1f}s")
    # lease + sweep + the 3 s index, with room for the second worker's start on a loaded machine
    assert recovery < lease + sweep + 3 + 15
    assert index.attempts == 2
    assert index.error is None
    assert index.stats["jobs"] == 2
    assert index.dispatches == 2  # one message per attempt
    assert _index_requests(log) >= 1  # the killed fetch is logged only if the endpoint answered it


def _index_requests(log) -> int:
    if not log.exists():
        return 0
    return sum(json.loads(line)["action"] == "INDEX_ENDPOINT" for line in log.read_text().splitlines())
