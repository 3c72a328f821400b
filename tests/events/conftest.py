import pytest

from tests.support.receiver import Receiver


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


@pytest.fixture
def fast_retries(settings):
    """Retries due at once, so a drain can be repeated without waiting."""
    settings.KONGFLOW_WEBHOOK_RETRY_SCHEDULE = [0, 0, 0]
    settings.KONGFLOW_WEBHOOK_RETRY_JITTER = 0
    return settings
