"""Integration: a real Celery worker on Redis, the live HTTP server, real SDK endpoints."""

import pytest

from tests.support.worker import Worker, assert_no_consumer, purge_queue

FAST_RECOVERY = {
    # Small limits so that recovery paths finish within a test.
    "CELERY_TASK_TIME_LIMIT": "20",
    "CELERY_TASK_SOFT_TIME_LIMIT": "15",
    "KONGFLOW_INDEX_LEASE_SECONDS": "4",
    "KONGFLOW_INDEX_HEARTBEAT_SECONDS": "1",
    "KONGFLOW_SWEEP_PENDING_AFTER_SECONDS": "2",
    "KONGFLOW_SWEEP_INTERVAL_SECONDS": "1",
}


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="module")
def celery_worker(request, django_db_setup):
    """One worker per module, consuming this session's own queue; stopped before the next module,
    whose tests may need workers of their own (recovery) and no stray consumer.

    Modules marked `own_workers` start (or play) their workers themselves: no shared one."""
    if request.node.get_closest_marker("own_workers"):
        yield None
        return
    assert_no_consumer()
    purge_queue()
    worker = Worker().start()
    yield worker
    worker.stop()
    purge_queue()


@pytest.fixture
def live_api(live_server, celery_worker):
    return live_server.url


@pytest.fixture(autouse=True)
def _no_stray_worker(request):
    """In `own_workers` modules, each test starts with no worker of an earlier test consuming."""
    if request.node.get_closest_marker("own_workers"):
        request.getfixturevalue("django_db_setup")
        assert_no_consumer()
