"""What the key-rotation fallback costs: PING and INDEX_ENDPOINT of a real SDK endpoint that runs
with the current key, against one that still runs with the previous key (a 401, then the retry).

No database is queried: the environment is built in memory. Prints figures; asserts nothing.

    .venv/bin/python bench/key_rotation.py [--calls 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import configure, percentile

configure("key_rotation", LOG_LEVEL="ERROR")  # the database is never connected; each fallback logs a 401
OLD_KEY, NEW_KEY = "tr_dev_kongflowBenchOld01", "tr_dev_kongflowBenchNew01"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    import django

    django.setup()
    from django.utils import timezone

    from endpointapi import EndpointApiClient
    from endpoints.models import Organization, RuntimeEnvironment
    from endpoints.services.clients import call_with_key_fallback
    from tests.support.sdk import start_endpoint

    environment = RuntimeEnvironment(
        id="bench",
        organization=Organization(id="bench", slug="bench", title="Bench"),
        api_key=NEW_KEY,
        previous_api_key=OLD_KEY,
        previous_api_key_expires_at=timezone.now() + timedelta(hours=1),
    )
    print(f"{args.calls} calls each, real SDK 2.3.19 endpoints on loopback")
    print(f"{'action':<16}{'endpoint runs with':<22}{'p50 ms':>8}{'p95 ms':>8}")
    for action, call in (("PING", lambda c: c.ping("bench")), ("INDEX_ENDPOINT", EndpointApiClient.index_endpoint)):
        for label, key in (("the current key", NEW_KEY), ("the previous key", OLD_KEY)):
            sdk = start_endpoint(api_key=key, endpoint_id="bench")
            try:
                durations = []
                for _ in range(args.calls):
                    start = time.perf_counter()
                    call_with_key_fallback(
                        environment=environment,
                        url=sdk.url,
                        call=call,
                    )
                    durations.append((time.perf_counter() - start) * 1000)
            finally:
                sdk.stop()
            print(f"{action:<16}{label:<22}{statistics.median(durations):>8.1f}{percentile(durations, 95):>8.1f}")


if __name__ == "__main__":
    main()
