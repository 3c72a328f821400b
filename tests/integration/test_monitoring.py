"""Every metric the alert rules and the Grafana dashboard use is exported by a live web process
(/metrics) or a live worker (its metrics port), once the worker has indexed and delivered."""

import pytest
import requests

from endpoints.models import IndexSource, IndexStatus, WebhookSubscription
from endpoints.services.events.signing import generate_secret
from endpoints.services.indexing import endpoint_index_request
from tests import factories
from tests.support.receiver import Receiver
from tests.support.waiting import wait_for
from tests.support.web import free_port
from tests.support.worker import Worker, assert_no_consumer, purge_queue, wait_for_status
from tests.test_monitoring import PROMETHEUS_OWN, dashboard_expressions, exported, metric_names, rule_expressions

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.own_workers]


def test_every_metric_of_the_rules_and_the_dashboard_is_exported(live_server, dev_environment, sdk_basic, tmp_path):
    assert_no_consumer()
    purge_queue()
    port = free_port()
    worker = Worker(
        beat=True,
        env={
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
            "KONGFLOW_WORKER_METRICS_PORT": str(port),
            "KONGFLOW_WORKER_METRICS_ADDR": "127.0.0.1",
            "KONGFLOW_SWEEP_INTERVAL_SECONDS": "1",
        },
    ).start()
    try:
        with Receiver() as receiver:
            WebhookSubscription.objects.create(
                environment=dev_environment, url=receiver.url, events=["*"], secret=generate_secret()
            )
            endpoint = factories.EndpointFactory(environment=dev_environment, slug="my-endpoint", url=sdk_basic.url)
            index = endpoint_index_request(endpoint=endpoint, source=IndexSource.INTERNAL)
            wait_for_status(index.id, IndexStatus.SUCCESS, what="the index")
            wait_for(lambda: receiver.events(), timeout=30, what="a webhook delivery")
        worker_body = wait_for(
            lambda: (body := requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text)
            and exported(body, "kongflow_webhook_delivery_attempts_total")
            and body,
            timeout=10,
            what="the worker's metrics",
        )
    finally:
        worker.stop()
        purge_queue()
    web_body = requests.get(f"{live_server.url}/metrics", timeout=10).text
    used = metric_names(rule_expressions() + dashboard_expressions()) - PROMETHEUS_OWN
    missing = sorted(name for name in used if not exported(web_body, name) and not exported(worker_body, name))
    assert not missing, missing
    # The autoscaler's gauges are the web's, read from the database.
    for name in ("kongflow_work_backlog", "kongflow_work_backlog_oldest_age_seconds", "kongflow_endpoints"):
        assert exported(web_body, name), name
