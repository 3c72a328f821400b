"""The noisy neighbour (issue #20): organization B's register -> index SUCCESS latency, p50/max over
a few first registrations (a new organization each), without and with a noisy organization A (20
subscriptions at a loopback receiver that answers after 8 s, and one registration fanning out to
all of them), and the webhook slots A held meanwhile.

Real processes on a PostgreSQL database of its own (named after this checkout) and Redis db 13:
gunicorn, the workers as docker-compose.yml runs them, the SDK fixture. `--before` adds the shape
before issue #20 for comparison: one worker (concurrency 4) for every queue, no slot limits.

    .venv/bin/python bench/noisy_neighbour.py [--registrations 5] [--before]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import configure, live_environment, recreate_database

configure("noisy", **live_environment("noisy"), KONGFLOW_THROTTLE_REGISTER="")
NO_LIMITS = {"KONGFLOW_WEBHOOK_MAX_IN_FLIGHT_PER_ENVIRONMENT": "1000", "KONGFLOW_WEBHOOK_MAX_IN_FLIGHT_PER_URL": "1000"}


@contextmanager
def peak_sampler(sample: Callable[[], int]) -> Iterator[list[int]]:
    """The largest value `sample()` returned while the block ran (every 50 ms)."""
    peak = [0]
    done = threading.Event()

    def loop() -> None:
        from django.db import connection

        while not done.wait(0.05):
            peak[0] = max(peak[0], sample())
        connection.close()

    thread = threading.Thread(target=loop)
    thread.start()
    try:
        yield peak
    finally:
        done.set()
        thread.join()


def run(
    label: str, topology: Callable[..., list[Any]], *, noisy: bool, registrations: int, env: dict[str, str]
) -> None:
    from tests import factories
    from tests.support.noisy import RECEIVER_DELAY, register, register_until_indexed, slots_held, subscribe_noisily
    from tests.support.receiver import Receiver
    from tests.support.sdk import sdk_endpoint
    from tests.support.waiting import wait_for
    from tests.support.web import WebProcess
    from tests.support.worker import purge_queue

    purge_queue()
    workers = topology(env)
    latencies: list[float] = []
    try:
        with WebProcess(env) as web, Receiver(delay=RECEIVER_DELAY) as slow:
            key_a = f"tr_dev_benchNoisyA{os.getpid()}{time.monotonic_ns()}"
            a = factories.RuntimeEnvironmentFactory.create(api_key=key_a)
            with (
                sdk_endpoint(api_key=key_a, endpoint_id="my-endpoint") as sdk_a,
                peak_sampler(lambda: slots_held(a)) as held,
            ):
                if noisy:
                    subscribe_noisily(a, slow)
                    register(web.url, key_a, sdk_a.url)
                    wait_for(lambda: slow.holding() > 0, timeout=60, what="A's deliveries to be held")
                for n in range(registrations):
                    key_b = f"tr_dev_benchQuietB{os.getpid()}{n}{time.monotonic_ns()}"
                    factories.RuntimeEnvironmentFactory.create(api_key=key_b)
                    with sdk_endpoint(api_key=key_b, endpoint_id="my-endpoint") as sdk_b:
                        latencies.append(register_until_indexed(web.url, key_b, sdk_b.url, timeout=600))
                held_by_a = slots_held(a)
            peak_requests = slow.peak
    finally:
        for worker in workers:
            worker.stop()
        purge_queue()
    p50, worst = statistics.median(latencies), max(latencies)
    print(
        f"{label:<48} B register->SUCCESS p50 {p50 * 1000:7.0f} ms  max {worst * 1000:7.0f} ms  (n={len(latencies)})"
        f"  | A's webhook slots: peak {held[0]}, at the end {held_by_a}; POSTs held at once by the receiver: "
        f"{peak_requests}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--registrations", type=int, default=5)
    parser.add_argument("--before", action="store_true", help="also the single shared worker, without slot limits")
    args = parser.parse_args()
    recreate_database()
    import django

    django.setup()
    from django.conf import settings

    from tests.support.noisy import compose_topology, shared_topology

    per_environment = settings.KONGFLOW_WEBHOOK_MAX_IN_FLIGHT_PER_ENVIRONMENT
    per_url = settings.KONGFLOW_WEBHOOK_MAX_IN_FLIGHT_PER_URL
    print(f"Receiver answers after 8 s; 20 subscriptions in A; slots: {per_environment}/environment, {per_url}/URL")
    run("compose workers, quiet", compose_topology, noisy=False, registrations=args.registrations, env={})
    run("compose workers, noisy A", compose_topology, noisy=True, registrations=args.registrations, env={})
    if args.before:
        run(
            "before: one worker for all, no limits, noisy A",
            shared_topology,
            noisy=True,
            registrations=1,
            env=NO_LIMITS,
        )


if __name__ == "__main__":
    main()
