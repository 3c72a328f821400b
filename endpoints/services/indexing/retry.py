"""The retry policy of index runs."""

from __future__ import annotations

import random

from django.conf import settings

from endpoints.models import EnvironmentType, RuntimeEnvironment

# A worker that dies is not the endpoint's fault: allow a few recoveries even for one-attempt runs.
MIN_ATTEMPTS_AFTER_WORKER_LOSS = 3


def max_attempts_for(environment: RuntimeEnvironment) -> int:
    """DEVELOPMENT endpoints get one attempt: a developer re-runs the CLI instead of waiting."""
    if environment.type == EnvironmentType.DEVELOPMENT:
        return 1
    return int(settings.KONGFLOW_INDEX_MAX_ATTEMPTS)


def retry_delay(attempt: int) -> float:
    """Exponential backoff with jitter: ~5 s, 10 s, 20 s … capped at 5 minutes."""
    base: float = min(5.0 * 2.0 ** max(attempt - 1, 0), 300.0)
    return base * random.uniform(0.8, 1.2)
