"""Run a real Celery worker process (Redis broker, the test database) for integration tests."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import uuid
from pathlib import Path

from django.conf import settings

from kongflow.celery import app
from tests.support.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]


def session_queues() -> list[str]:
    """This test session's queues (KONGFLOW_QUEUE_PREFIX is per session, tests/settings.py)."""
    return [settings.KONGFLOW_INDEX_QUEUE, settings.KONGFLOW_WEBHOOKS_QUEUE, settings.KONGFLOW_HOUSEKEEPING_QUEUE]


class Worker:
    """`celery worker` in a subprocess, on this session's queues and the test database."""

    def __init__(
        self,
        *,
        beat: bool | str = False,
        env: dict[str, str] | None = None,
        concurrency: int = 2,
        pool: str = "prefork",
        command: list[str] | None = None,
    ) -> None:
        """Consumes every queue of the session, unless `command` gives the worker's own arguments
        (after `celery -A kongflow worker`: e.g. a docker-compose service's, see `compose_workers`).
        `beat=True` runs beat with a schedule file in /tmp; `beat="plain"` runs `worker -B` as
        documented, with no `--schedule` (the settings decide). The worker's database connections
        carry `application_name` = `self.application_name`, so a test can find (and only) them."""
        self.hostname = f"kongflow-test-{uuid.uuid4().hex[:8]}@localhost"
        self.application_name = f"kongflow-{self.hostname.split('@')[0]}"
        database = settings.DATABASES["default"]
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": (f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "KONGFLOW_QUEUE_PREFIX": settings.KONGFLOW_QUEUE_PREFIX,
            "DATABASE_APPLICATION_NAME": self.application_name,
            **(env or {}),
        }
        self.own_broker = self.env["CELERY_BROKER_URL"] != settings.CELERY_BROKER_URL
        own = command or [
            "--queues",
            ",".join(session_queues()),
            "--concurrency",
            str(concurrency),
            "--pool",
            pool,
            "--loglevel",
            "INFO",
        ]
        self.args = [
            *(sys.executable, "-m", "celery", "-A", "kongflow", "worker"),
            *own,
            *("--hostname", self.hostname, "--without-gossip", "--without-mingle"),
        ]
        if beat == "plain":
            self.args += ["--beat"]
        elif beat:
            self.args += ["--beat", "--schedule", f"/tmp/{self.hostname}-beat"]
        self.process: subprocess.Popen | None = None
        self.log_path = Path(f"/tmp/{self.hostname}.log")

    def start(self) -> Worker:
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen(
            self.args, cwd=REPO, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        wait_for(self._answers_ping, timeout=60, what=f"worker {self.hostname} to start")
        return self

    def _answers_ping(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"worker exited: {self.log_path.read_text()[-3000:]}")
        if self.own_broker:  # not reachable through this process's app: its log says when it is ready
            return f"{self.hostname} ready." in self.log_path.read_text()
        return bool(app.control.ping(destination=[self.hostname], timeout=0.5))

    def child_pids(self) -> list[int]:
        """The prefork children (where tasks run)."""
        assert self.process is not None
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and children), as a crash would."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        if getattr(self, "log", None):
            self.log.close()


def wait_for_status(index_id: str, status: str, *, timeout: float = 30.0, what: str = "") -> None:
    """Wait until the EndpointIndex run has `status` (another process moves it)."""
    from endpoints.models import EndpointIndex

    wait_for(
        lambda: EndpointIndex.objects.get(id=index_id).status == status,
        timeout=timeout,
        what=what or f"index {index_id} to be {status}",
    )


def assert_no_consumer() -> None:
    """No worker of an earlier test is still consuming one of this session's queues."""
    ours = set(session_queues())
    replies = app.control.inspect(timeout=0.5).active_queues() or {}
    consuming = [name for name, queues in replies.items() if any(q["name"] in ours for q in queues)]
    assert not consuming, f"stray worker(s) consuming {sorted(ours)}: {consuming}"


def purge_queue() -> None:
    """Empty every queue of this session."""
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        for queue in session_queues():
            channel.queue_purge(queue)


COMPOSE_WORKER = "celery -A kongflow worker"


def compose_workers() -> dict[str, list[str]]:
    """The Celery workers docker-compose.yml runs, as {service: its `worker` arguments}, with the
    default queue prefix (`kongflow.`) replaced by this session's: the same commands, our queues."""
    import yaml

    services = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    workers: dict[str, list[str]] = {}
    for name, service in services.items():
        command = " ".join(service.get("command") or [])
        if COMPOSE_WORKER not in command:
            continue
        args = shlex.split(command.split(COMPOSE_WORKER, 1)[1])
        workers[name] = [
            arg.replace("kongflow.", f"{settings.KONGFLOW_QUEUE_PREFIX}.") if previous in ("--queues", "-Q") else arg
            for previous, arg in zip(["", *args], args, strict=False)
        ]
    return workers
