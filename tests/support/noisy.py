"""The noisy-neighbour scenario (issue #20), shared by tests/integration/test_noisy_neighbour.py and
bench/noisy_neighbour.py: organization A subscribes many times to a receiver that answers after 8 s
and registers an endpoint (every event fans out to every subscription); organization B registers
its endpoint and waits for the index. Real processes: the workers as docker-compose.yml runs them
(or the old single worker, to compare), the SDK fixture, a loopback receiver."""

from __future__ import annotations

import time

import requests

from endpoints.models import EndpointIndex, IndexStatus, RuntimeEnvironment, WebhookSubscription
from endpoints.services.events import subscription_create
from tests.support.receiver import Receiver
from tests.support.waiting import wait_for
from tests.support.worker import Worker, compose_workers

RECEIVER_DELAY = 8.0  # seconds the noisy tenant's receiver takes to answer
SUBSCRIPTIONS = 20


def compose_topology(env: dict[str, str] | None = None) -> list[Worker]:
    """The workers docker-compose.yml runs (same arguments, this session's queues), started."""
    return [Worker(command=args, env=env).start() for args in compose_workers().values()]


def shared_topology(env: dict[str, str] | None = None) -> list[Worker]:
    """Before issue #20: one worker (docker-compose's concurrency 4) for every kind of work."""
    return [Worker(concurrency=4, env=env).start()]


def subscribe_noisily(environment: RuntimeEnvironment, receiver: Receiver, count: int = SUBSCRIPTIONS) -> None:
    """`count` subscriptions to every event, each at its own path of the slow receiver."""
    for n in range(count):
        subscription_create(environment=environment, url=f"{receiver.url}/{n}", events=["*"])


def register(base_url: str, api_key: str, url: str, slug: str = "my-endpoint") -> str:
    """POST /api/v1/endpoints as the CLI does; returns the registration's index id."""
    response = requests.post(
        f"{base_url}/api/v1/endpoints",
        json={"id": slug, "url": url},
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["endpointIndex"]["id"])


def register_until_indexed(base_url: str, api_key: str, url: str, *, timeout: float = 60.0) -> float:
    """Seconds from the registration's request to its index's SUCCESS."""
    started = time.perf_counter()
    index_id = register(base_url, api_key, url)
    wait_for(
        lambda: (
            EndpointIndex.objects.filter(id=index_id, status__in=(IndexStatus.SUCCESS, IndexStatus.FAILURE))
            .values_list("status", flat=True)
            .first()
        ),
        timeout=timeout,
        interval=0.02,
        what=f"index {index_id} to finish",
    )
    elapsed = time.perf_counter() - started
    status = EndpointIndex.objects.get(id=index_id).status
    assert status == IndexStatus.SUCCESS, status
    return elapsed


def slots_held(environment: RuntimeEnvironment) -> int:
    """The environment's subscriptions being drained right now (webhook slots it holds)."""
    from django.utils import timezone

    return WebhookSubscription.objects.filter(environment=environment, lease_until__gte=timezone.now()).count()
