"""What every benchmark sets up the same way: a PostgreSQL database of its own, Django's
environment pointing at it, and how figures are summarised.

Call `configure()` before Django is imported: settings are read from the environment then.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def configure(kind: str, **environment: str) -> str:
    """Point this process (and the processes it starts) at the database of this benchmark and this
    checkout, so two checkouts never share one; returns the database's name."""
    name = f"kongflow_bench_{kind}_" + hashlib.sha256(str(REPO).encode()).hexdigest()[:8]
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "kongflow.settings",
            "DJANGO_SECRET_KEY": "bench",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{name}",
            "LOG_LEVEL": "WARNING",
            **environment,
        }
    )
    return name


def live_environment(kind: str) -> dict[str, str]:
    """For a benchmark that starts web and worker processes: a broker queue and a var/ directory of
    its own (two runs never share one), and the SDK endpoints it starts on loopback allowed."""
    tag = f"kongflow-bench-{kind}-{os.getpid()}"
    return {
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/13",
        "KONGFLOW_QUEUE_PREFIX": tag,
        "KONGFLOW_VAR_DIR": str(Path(tempfile.gettempdir()) / tag),
        "ENDPOINTAPI_ALLOWED_NETWORKS": "127.0.0.0/8,::1/128",
    }


def database_name() -> str:
    return os.environ["DATABASE_URL"].rsplit("/", 1)[1]


def recreate_database(*, migrate: bool = True) -> None:
    """An empty database under the configured name (dropped first), migrated unless told not to."""
    import psycopg

    name = database_name()
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    if migrate:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=REPO, check=True)


def drop_database() -> None:
    import psycopg

    if "django" in sys.modules:
        from django.db import connections

        connections.close_all()
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {database_name()} WITH (FORCE)")


_counter = itertools.count(1)


def new_environment(api_key: str | None = None) -> Any:
    """A fresh organization/project/PRODUCTION environment: every first index is really a first."""
    from endpoints.services.environments import environment_get_or_create

    n = next(_counter)
    env, _ = environment_get_or_create(
        organization=f"Bench {os.getpid()}-{n}",
        project=f"Bench {os.getpid()}-{n}",
        env_type="PRODUCTION",
        api_key=api_key,
    )
    return env


def percentile(values: list[float], pct: float) -> float:
    """The nearest-rank percentile (no interpolation: a figure that was measured)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


@contextmanager
def sampling(sample: Callable[[Any], None], every: float = 0.02) -> Iterator[None]:
    """Calls `sample(connection)` every `every` seconds while the block runs, from a thread with a
    psycopg connection of its own to the benchmark's database (so it sees other backends' locks)."""
    import psycopg

    stop = threading.Event()

    def loop() -> None:
        with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
            while not stop.is_set():
                sample(conn)
                stop.wait(every)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
