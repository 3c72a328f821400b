import gc
import logging
import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_init, worker_process_init, worker_process_shutdown

from kongflow.config import exit_on_bad_settings
from kongflow.logging import bind_context, clear_context

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kongflow.settings")



def _closed_redis_connection_is_a_connection_error() -> None:
    """Work around a kombu crash that takes the whole worker down when Redis goes away.

    When the broker connection is lost while the worker holds unacknowledged messages (always, with
    `acks_late` under load), Celery closes the connection; closing the channel restores those
    messages through a client kombu has already dropped, and `Channel._connparams` fails with
    `AttributeError: 'NoneType' object has no attribute 'hostname'`, which Celery reports as an
    "Unrecoverable error" and exits on (seen in tests/integration/test_faults.py; kombu 5.7). Raised
    as the connection error it is, kombu's close ignores it and the consumer reconnects. The
    messages it could not restore are not lost: they stay in Redis's unacked set (restored after the
    visibility timeout), and the runs they carried are re-sent by the sweeper in any case.
    """
    try:
        from kombu.transport import redis as kombu_redis
        from redis.exceptions import ConnectionError as RedisConnectionError
    except ImportError:  # pragma: no cover - the redis transport is a dependency
        return
    original = kombu_redis.Channel._connparams
    if getattr(original, "_kongflow", False):
        return

    def _connparams(self: Any, asynchronous: bool = False) -> Any:
        if getattr(self.connection, "client", None) is None:
            raise RedisConnectionError("The broker connection is closed")
        return original(self, asynchronous=asynchronous)  # type: ignore[no-untyped-call]  # kombu: unannotated

    _connparams._kongflow = True  # type: ignore[attr-defined]
    kombu_redis.Channel._connparams = _connparams  # type: ignore[method-assign]


_closed_redis_connection_is_a_connection_error()

app = Celery("kongflow")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Django's settings are loaded when Celery first reads its configuration (while the celery command
# parses its options): load them just before, so that a bad one is a line, not a traceback.
app.on_configure.connect(lambda **kwargs: exit_on_bad_settings(), weak=False)
app.autodiscover_tasks()

logger = logging.getLogger(__name__)


@worker_init.connect
def _serve_worker_metrics(**kwargs: Any) -> None:
    """Export the metrics of every prefork child on KONGFLOW_WORKER_METRICS_PORT.

    Needs PROMETHEUS_MULTIPROC_DIR (an empty folder, set before the worker starts) so that the
    children's counters are aggregated; web processes export theirs at /metrics.
    """
    port = int(os.environ.get("KONGFLOW_WORKER_METRICS_PORT", "0") or 0)
    if not port:
        return
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        logger.warning("celery.metrics_disabled: KONGFLOW_WORKER_METRICS_PORT needs PROMETHEUS_MULTIPROC_DIR")
        return
    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    from kongflow.metrics_auth import serve_worker_metrics

    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # prometheus_client: unannotated __init__
    serve_worker_metrics(port, os.environ.get("KONGFLOW_WORKER_METRICS_ADDR", "0.0.0.0"), registry)  # noqa: S104


@worker_init.connect
def _size_the_database_pool(sender: Any = None, **kwargs: Any) -> None:
    """A worker process's pool: 2 connections per task it runs at once (the task and the run's
    heartbeat thread): 2 in a prefork child, 2 x concurrency with the threads pool. Unless
    DATABASE_POOL_MAX_SIZE is set (0: no pool). Then the parent lets go of any connection and pool
    before it forks the children."""
    from django.conf import settings
    from django.db import connections

    pool = settings.DATABASES["default"].get("OPTIONS", {}).get("pool")
    if pool and "DATABASE_POOL_MAX_SIZE" not in os.environ and sender is not None:
        kind = sender.pool_cls if isinstance(sender.pool_cls, str) else sender.pool_cls.__module__
        per_process = "prefork" in kind or "solo" in kind or not isinstance(sender.concurrency, int)
        pool["max_size"] = 2 if per_process else 2 * sender.concurrency
        pool["min_size"] = min(pool["min_size"], pool["max_size"])
    for connection in connections.all(initialized_only=True):
        connection.close()
        if hasattr(connection, "close_pool"):
            connection.close_pool()


@worker_process_init.connect
def _forget_the_parents_connections(**kwargs: Any) -> None:
    """A prefork child must not use, nor close, a connection or pool it inherited: their sockets are
    the parent's (closing one would end the parent's session). Dropped without a word to the server
    (psycopg closes a connection only in the process that opened it), before Celery's Django fixup
    closes the child's connections and pool; the child opens its own pool on first use."""
    from django.db import connections
    from django.db.backends.postgresql.base import DatabaseWrapper

    for connection in connections.all(initialized_only=True):
        connection.connection = None
    DatabaseWrapper._connection_pools.clear()  # type: ignore[attr-defined]  # the pools by alias; not in the stubs


@worker_init.connect
@worker_process_init.connect
def _freeze_startup_objects(**kwargs: Any) -> None:
    """Move what the process holds after start-up (Django, models, the app) out of the collector's
    sight: full collections then traverse only what tasks allocate (see endpoints' `memory`). In the
    parent before a prefork child is forked (pages stay shared), and again in each child."""
    gc.freeze()


@worker_process_shutdown.connect
def _mark_child_dead(pid: int | None = None, **kwargs: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())  # type: ignore[no-untyped-call]  # prometheus_client: unannotated


@task_prerun.connect
def _bind_task_log_context(
    task_id: str | None = None, task: Any = None, kwargs: dict[str, Any] | None = None, **extra: Any
) -> None:
    """Every line a task logs names the task and the ids it was given (index_id, endpoint_id)."""
    ids = {key: value for key, value in (kwargs or {}).items() if key.endswith("_id") and isinstance(value, str)}
    clear_context()
    bind_context(task=getattr(task, "name", None), task_id=task_id, **ids)


@task_postrun.connect
def _unbind_task_log_context(**extra: Any) -> None:
    clear_context()
