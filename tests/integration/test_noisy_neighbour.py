"""Issue #20, "kinds of work don't share a fate": organization A's 20 subscriptions at a receiver that
answers after 8 s do not delay organization B's first index (its own queue and workers), nor B's
webhooks (A holds only its environment's slots of the webhooks worker). The workers run exactly as
docker-compose.yml starts them, on loopback Redis and the test database; real SDK endpoints."""

import time

import pytest
from django.conf import settings

from endpoints.services.events import subscription_create
from tests import factories
from tests.support.noisy import (
    RECEIVER_DELAY,
    SUBSCRIPTIONS,
    compose_topology,
    register,
    register_until_indexed,
    slots_held,
    subscribe_noisily,
)
from tests.support.receiver import Receiver
from tests.support.sdk import sdk_endpoint
from tests.support.waiting import wait_for
from tests.support.worker import purge_queue

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.own_workers]

KEY_A = "tr_dev_noisyTenantKey00A1"
KEY_B = "tr_dev_quietTenantKey00B1"


@pytest.fixture
def compose_workers():
    purge_queue()
    workers = compose_topology()
    yield workers
    for worker in workers:
        worker.stop()
    purge_queue()


def test_a_noisy_tenants_slow_webhooks_delay_neither_another_orgs_index_nor_its_webhooks(live_server, compose_workers):
    limit = settings.KONGFLOW_WEBHOOK_MAX_IN_FLIGHT_PER_ENVIRONMENT
    noisy = factories.RuntimeEnvironmentFactory(api_key=KEY_A)
    quiet = factories.RuntimeEnvironmentFactory(api_key=KEY_B)
    assert noisy.organization_id != quiet.organization_id
    with (
        sdk_endpoint(api_key=KEY_A, endpoint_id="my-endpoint") as sdk_a,
        sdk_endpoint(api_key=KEY_B, endpoint_id="my-endpoint") as sdk_b,
        Receiver(delay=RECEIVER_DELAY) as slow,
        Receiver() as fast,
    ):
        subscribe_noisily(noisy, slow)
        subscription_create(environment=quiet, url=fast.url, events=["endpoint.registered"])  # B's own

        register(live_server.url, KEY_A, sdk_a.url)  # 20 subscriptions x every event of a registration
        wait_for(lambda: slow.holding() == limit, timeout=30, what=f"A to hold its {limit} webhook slots")

        elapsed = register_until_indexed(live_server.url, KEY_B, sdk_b.url, timeout=30)
        delivered_at = time.perf_counter()
        wait_for(lambda: fast.types() == ["endpoint.registered"], timeout=10, what="B's webhook")
        webhook_after = time.perf_counter() - delivered_at

        # Meanwhile A still held (only) its slots: each of its drains waits 8 s per delivery.
        assert slots_held(noisy) == limit
        assert slow.peak == limit < SUBSCRIPTIONS
        assert max(slow.peak_per_path.values()) == 1
    print(f"B: register -> SUCCESS {elapsed * 1000:.0f} ms; its webhook {webhook_after * 1000:.0f} ms later")
    assert elapsed < 3.0
    assert webhook_after < RECEIVER_DELAY  # not behind one of A's slow deliveries
