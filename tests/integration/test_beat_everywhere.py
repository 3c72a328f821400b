"""Two real `celery beat` processes (two hosts' beats) and a real worker: each housekeeping task
runs once per interval, not once per beat; when one beat dies, the other keeps housekeeping going."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from endpoints import tasks
from endpoints.models import HousekeepingRun
from tests.support.waiting import wait_for
from tests.support.worker import REPO, Worker, purge_queue

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.own_workers]

EVERY_SECOND = {
    "KONGFLOW_SWEEP_INTERVAL_SECONDS": "1",
    "KONGFLOW_WEBHOOK_SWEEP_INTERVAL_SECONDS": "1",
    "KONGFLOW_RECURRING_INDEX_INTERVAL_SECONDS": "1",
}


def start_beat(env: dict[str, str], name: str) -> subprocess.Popen[bytes]:
    log = Path(f"/tmp/{name}.log").open("w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "kongflow", "beat", "--schedule", f"/tmp/{name}", "-l", "INFO"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def sweeps() -> HousekeepingRun | None:
    return HousekeepingRun.objects.filter(task=tasks.SWEEP_TASK).first()


def test_two_beats_run_each_task_once_per_interval_and_one_survives_the_other():
    purge_queue()
    worker = Worker(
        env=EVERY_SECOND,
        command=["--queues", settings.KONGFLOW_HOUSEKEEPING_QUEUE, "--concurrency", "2", "--loglevel", "INFO"],
    ).start()
    beats = []
    try:
        beats = [start_beat(worker.env, f"{worker.hostname}-beat-{k}") for k in range(2)]
        wait_for(sweeps, timeout=60, what="the first sweep")
        first = time.monotonic()
        # both beats send every second: 16 messages take about 8 seconds
        wait_for(lambda: (run := sweeps()) and run.runs + run.skipped >= 16, timeout=60, what="16 sweep messages")
        run = sweeps()
        assert run is not None
        elapsed = time.monotonic() - first
        assert run.runs <= elapsed + 2, (run.runs, run.skipped, elapsed)  # one a second, not two
        assert run.runs <= (run.runs + run.skipped) / 2 + 2, (run.runs, run.skipped)  # half the messages dropped
        webhook_sweeps = HousekeepingRun.objects.get(task=tasks.WEBHOOK_SWEEP_TASK)
        assert webhook_sweeps.runs <= elapsed + 2 and webhook_sweeps.skipped >= 1

        # one host goes: the other beat alone keeps the sweeper running
        os.killpg(beats[0].pid, signal.SIGKILL)
        beats[0].wait()
        before = run.runs
        wait_for(lambda: sweeps().runs >= before + 3, timeout=30, what="sweeps with one beat left")
    finally:
        for beat in beats:
            if beat.poll() is None:
                os.killpg(beat.pid, signal.SIGTERM)
                beat.wait(timeout=20)
        worker.stop()
        purge_queue()
