"""Each kind of work has its own queue (docs/operations.md): every task is routed explicitly, beat's
tasks to housekeeping, and docker-compose.yml runs one worker service per queue."""

from django.conf import settings

from kongflow.celery import app
from tests.support.worker import compose_workers, session_queues

KINDS = {
    "endpoints.perform_endpoint_index": "index",
    "endpoints.probe_endpoint": "index",
    "endpoints.check_endpoint_key": "index",
    "endpoints.deliver_webhooks": "webhooks",
    "endpoints.send_alert": "webhooks",
}


def queue_of(task: str) -> str:
    return app.amqp.router.route({}, task)["queue"].name


def test_every_task_is_routed_to_the_queue_of_its_kind():
    app.loader.import_default_modules()
    ours = sorted(name for name in app.tasks if name.startswith("endpoints."))
    assert sorted(settings.CELERY_TASK_ROUTES) == ours  # a new task must say where it runs
    beat = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    expected = {**dict.fromkeys(beat, "housekeeping"), **KINDS}
    assert set(expected) == set(ours)
    for task, kind in expected.items():
        assert queue_of(task) == f"{settings.KONGFLOW_QUEUE_PREFIX}.{kind}", task


def test_compose_runs_one_worker_service_per_queue():
    workers = compose_workers()
    consumed = {}
    for service, args in workers.items():
        queues = args[args.index("--queues") + 1].split(",")
        for queue in queues:
            consumed.setdefault(queue, []).append(service)
    assert consumed == {
        settings.KONGFLOW_INDEX_QUEUE: ["worker"],
        settings.KONGFLOW_WEBHOOKS_QUEUE: ["webhooks"],
        settings.KONGFLOW_HOUSEKEEPING_QUEUE: ["housekeeping"],
    }
    assert sorted(consumed) == sorted(session_queues())
    # One environment's backlog can never take every webhook slot of the webhooks worker.
    concurrency = int(workers["webhooks"][workers["webhooks"].index("--concurrency") + 1])
    assert concurrency > settings.KONGFLOW_WEBHOOK_MAX_IN_FLIGHT_PER_ENVIRONMENT
