"""The deployment shapes of docs/operations.md on loopback: PgBouncer in front of PostgreSQL, a
RabbitMQ virtual host of the test's own, and the core flows every shape must pass over HTTP."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from django.conf import settings

from tests.support.waiting import wait_for
from tests.support.web import free_port

RABBITMQ = ("127.0.0.1", 5672)


def _require(binary: str, package: str) -> str:
    """The binary; skipped without it, except in CI (`CI` set; .ci/run installs it)."""
    found = shutil.which(binary) or next(
        (str(p) for p in (Path("/usr/sbin") / binary, Path("/usr/bin") / binary) if p.exists()), None
    )
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"{binary} must be installed in CI (.ci/run: apt-get install {package})")
        pytest.skip(f"{binary} is not installed (apt-get install {package})")
    return found


class PgBouncer:
    """Debian's pgbouncer in transaction pooling mode on a free loopback port, in front of the
    tests' PostgreSQL (every database), trust auth for `postgres` (userlist), `pool_size` server
    connections per database. As root it drops to `postgres` (pgbouncer refuses to run as root)."""

    def __init__(self, *, pool_size: int = 4) -> None:
        self.binary = _require("pgbouncer", "pgbouncer")
        database = settings.DATABASES["default"]
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="kongflow-pgbouncer-"))
        (self.dir / "userlist.txt").write_text(f'"{database["USER"]}" ""\n')
        (self.dir / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"* = host={database['HOST']} port={database['PORT']}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {self.dir / 'userlist.txt'}\nadmin_users = {database['USER']}\n"
            f"pool_mode = transaction\ndefault_pool_size = {pool_size}\nmax_client_conn = 200\n"
            f"logfile = {self.dir / 'pgbouncer.log'}\npidfile = {self.dir / 'pgbouncer.pid'}\n"
        )
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user:
            entry = pwd.getpwnam(self.user)
            for path in (self.dir, *self.dir.iterdir()):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self.database_url = f"postgres://{database['USER']}@127.0.0.1:{self.port}/{database['NAME']}"

    def __enter__(self) -> PgBouncer:
        args = [self.binary, *(("-u", self.user) if self.user else ()), str(self.dir / "pgbouncer.ini")]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_for(self._listening, timeout=10, what="pgbouncer to listen")
        return self

    def _listening(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError((self.dir / "pgbouncer.log").read_text()[-2000:])
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def show(self, what: str) -> list[dict[str, str]]:
        """`SHOW <what>` on the admin console (psql: the console speaks the simple protocol only)."""
        console = ["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", "pgbouncer"]
        result = subprocess.run(
            [*console, "-A", "-F", "\t", "-c", f"SHOW {what}"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
        lines = [line for line in result.stdout.splitlines() if line and not line.startswith("(")]
        header = lines[0].split("\t")
        return [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


def rabbitmq_up() -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(RABBITMQ) == 0


@contextmanager
def rabbitmq_vhost() -> Iterator[str]:
    """A virtual host of this test's own on the local RabbitMQ (guest/guest): its broker URL.
    Deleted afterwards, with every queue in it (the epoch's marker queue too)."""
    if not rabbitmq_up():
        if os.environ.get("CI"):
            pytest.fail("RabbitMQ must run on 127.0.0.1:5672 in CI (.ci/run starts rabbitmq-server)")
        pytest.skip("RabbitMQ is not running on 127.0.0.1:5672")
    ctl = _require("rabbitmqctl", "rabbitmq-server")
    vhost = f"kongflow-test-{uuid.uuid4().hex[:8]}"
    subprocess.run([ctl, "add_vhost", vhost], check=True, capture_output=True, timeout=60)
    try:
        subprocess.run(
            [ctl, "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        yield f"amqp://guest:guest@{RABBITMQ[0]}:{RABBITMQ[1]}/{vhost}"
    finally:
        subprocess.run([ctl, "delete_vhost", vhost], capture_output=True, timeout=60)


def rabbitmq_queues(broker_url: str) -> set[str]:
    """Queue names of the virtual host (rabbitmqctl: AMQP cannot list them)."""
    vhost = broker_url.rsplit("/", 1)[1]
    ctl = _require("rabbitmqctl", "rabbitmq-server")
    out = subprocess.run(
        [ctl, "list_queues", "-p", vhost, "name", "--quiet", "--no-table-headers"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    return {line.strip() for line in out.splitlines() if line.strip()}


# --- the core flows -----------------------------------------------------------------------------
@dataclass
class Api:
    """One web process, as an environment's API key sees it."""

    url: str
    key: str

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(
            method, f"{self.url}{path}", headers={"Authorization": f"Bearer {self.key}"}, timeout=60, **kwargs
        )

    def final_index(self, index_id: str, timeout: float = 45) -> dict:
        def final():
            body = self.call("GET", f"/api/v1/endpointindex/{index_id}").json()
            return body if body["status"] in ("SUCCESS", "FAILURE") else None

        return wait_for(final, timeout=timeout, what=f"index {index_id} to finish")


# The events of registering and indexing the `basic` scenario, in order (also test_events_flow.py);
# the last one: never indexed -> healthy, recorded with the index's own events.
BASIC_EVENTS = [
    "endpoint.registered",
    "job.added",
    "job.added",
    "schedule.armed",
    "endpoint.indexed",
    "endpoint.health_changed",
]


def core_flows(
    *, writer: Api, reader: Api, many_writer: Api, many_reader: Api, basic_url: str, many_url: str, receiver
) -> None:
    """What every shape must pass: events subscribed, a real SDK endpoint registered through
    `writer` and indexed by a worker (read through `reader`), its events pulled and delivered
    signed; a 500-job PRODUCTION endpoint registered and indexed; a deploy hook indexing it again;
    housekeeping (the sweeper) recorded by beat."""
    from endpoints.models import Endpoint, EndpointIndex, HousekeepingRun, IndexStatus, JobVersion

    subscribed = writer.call("POST", "/api/v1/event-subscriptions", json={"url": receiver.url, "events": ["*"]})
    assert subscribed.status_code == 201, subscribed.text

    registered = writer.call("POST", "/api/v1/endpoints", json={"id": "my-endpoint", "url": basic_url})
    assert registered.status_code == 200, registered.text
    body = reader.final_index(registered.json()["endpointIndex"]["id"])
    assert body["status"] == "SUCCESS" and body["stats"]["jobs"] == 2, body

    pulled = reader.call("GET", "/api/v1/registry-events?after=0&limit=50").json()
    assert [event["type"] for event in pulled["data"]] == BASIC_EVENTS
    wait_for(lambda: "endpoint.health_changed" in receiver.types(), timeout=30, what="the webhooks to arrive")
    assert {item.type for item in receiver.events()} == set(BASIC_EVENTS)

    registered = many_writer.call("POST", "/api/v1/endpoints", json={"id": "many", "url": many_url})
    assert registered.status_code == 200, registered.text
    body = many_reader.final_index(registered.json()["endpointIndex"]["id"], timeout=60)
    assert body["status"] == "SUCCESS" and body["stats"]["jobs"] == 500, body
    endpoint = Endpoint.objects.get(slug="many")
    assert JobVersion.objects.filter(endpoint=endpoint).values("job").distinct().count() == 500

    hooked = requests.post(
        f"{many_writer.url}/api/v1/endpoints/{endpoint.environment_id}/many/index/{endpoint.indexing_hook_identifier}",
        json={"type": "deployment.succeeded"},
        timeout=30,
    )
    assert hooked.status_code == 200, hooked.text
    wait_for(
        lambda: EndpointIndex.objects.filter(endpoint=endpoint, source="HOOK", status=IndexStatus.SUCCESS).exists(),
        timeout=45,
        what="the hook's index to succeed",
    )
    wait_for(
        lambda: (
            HousekeepingRun.objects.filter(task="endpoints.sweep_endpoint_indexes", last_error=None)
            .exclude(last_finished_at=None)
            .exists()
        ),
        timeout=30,
        what="the sweeper to run",
    )
