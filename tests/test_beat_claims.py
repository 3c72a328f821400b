"""Beat on several hosts: each housekeeping task runs once per beat interval however many beats
send it (the interval is claimed in PostgreSQL), and a beat's messages say when they were fired."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from endpoints import tasks
from endpoints.models import HousekeepingRun
from endpoints.services.indexing import housekeeping_claim
from kongflow.beat import Scheduler
from kongflow.celery import app
from tests.support.worker import purge_queue

TASK = "endpoints.test_task"


def at(seconds: float) -> datetime:
    return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)


def test_one_run_per_interval_however_many_messages(db):
    now = at(1000)
    assert housekeeping_claim(task=TASK, fired_at=at(60.2), every=15, now=now)  # interval [60, 75)
    assert not housekeeping_claim(task=TASK, fired_at=at(67.5), every=15, now=now)  # another beat, same interval
    assert not housekeeping_claim(task=TASK, fired_at=at(60.2), every=15, now=now)  # the message again
    assert not housekeeping_claim(task=TASK, fired_at=at(50), every=15, now=now)  # a late one, older interval
    assert housekeeping_claim(task=TASK, fired_at=at(75.3), every=15, now=now)  # the next interval
    run = HousekeepingRun.objects.get(task=TASK)
    assert run.skipped == 3 and run.last_fired_at == at(75.3)


def test_a_fire_time_ahead_of_the_clock_cannot_take_intervals_to_come(db):
    assert housekeeping_claim(task=TASK, fired_at=at(3600), every=15, now=at(100))  # a host an hour ahead
    assert HousekeepingRun.objects.get(task=TASK).last_fired_at == at(100)
    assert housekeeping_claim(task=TASK, fired_at=at(115.1), every=15, now=at(115.1))  # the others go on


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_of_one_interval_let_exactly_one_run():
    for round_ in range(10):
        barrier = threading.Barrier(3)
        won = []

        def claim(fired: datetime, barrier: threading.Barrier = barrier, won: list[bool] = won) -> None:
            try:
                barrier.wait()
                won.append(housekeeping_claim(task=TASK, fired_at=fired, every=15, now=fired + timedelta(seconds=1)))
            finally:
                connection.close()

        start = at(15 * round_)
        threads = [threading.Thread(target=claim, args=(start + timedelta(seconds=k),)) for k in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(won) == [False, False, True], round_
    run = HousekeepingRun.objects.get(task=TASK)
    assert run.skipped == 20


def test_a_manual_run_is_not_claimed(db):
    """Run by hand or by a test (no `fired_at`): it always runs."""
    tasks.sweep_endpoint_indexes.apply()
    tasks.sweep_endpoint_indexes.apply()
    assert HousekeepingRun.objects.get(task=tasks.SWEEP_TASK).runs == 2


def held_messages() -> list[tuple[str, dict]]:
    """Take every message off this session's housekeeping queue: (task name, kwargs)."""
    taken = []
    with app.connection_for_read() as conn:
        queue = conn.SimpleQueue(settings.KONGFLOW_HOUSEKEEPING_QUEUE, no_ack=True)
        try:
            while True:
                try:
                    message = queue.get_nowait()
                except queue.Empty:
                    return taken
                taken.append((message.headers["task"], message.payload[1]))
        finally:
            queue.close()


def due_scheduler(tmp_path, name: str) -> Scheduler:
    """Beat's scheduler with its own schedule file and every entry due."""
    scheduler = Scheduler(app=app, schedule_filename=str(tmp_path / name), lazy=False)
    for entry in scheduler.schedule.values():
        entry.last_run_at = timezone.now() - timedelta(hours=2)
    scheduler._heap = None
    return scheduler


def test_two_beats_sending_every_entry_run_each_task_once(db, tmp_path):
    """Two schedulers (two beats) tick the same entries at once: the real Redis queue holds two
    messages per task, and running all of them runs each task once."""
    purge_queue()
    beats = [due_scheduler(tmp_path, "a"), due_scheduler(tmp_path, "b")]
    entries = len(settings.CELERY_BEAT_SCHEDULE)
    for _ in range(entries):
        for beat in beats:
            assert beat.tick() == 0  # one due entry sent per tick
    messages = held_messages()
    assert len(messages) == 2 * entries
    for name, kwargs in messages:
        assert kwargs["every"] > 0 and datetime.fromisoformat(kwargs["fired_at"]) <= timezone.now()
        app.tasks[name].apply(kwargs=kwargs)
    runs = {run.task: run for run in HousekeepingRun.objects.all()}
    assert set(runs) == {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert all(run.runs == 1 and run.skipped == 1 for run in runs.values()), runs
    # the stored entries keep their own kwargs (none): a firing's time is not saved with the schedule
    assert all(entry.kwargs == {} for beat in beats for entry in beat.schedule.values())
