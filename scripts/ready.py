"""scripts/run's last step: wait until the web server and every Celery worker answer, then print the
banner with only the URLs that answer.

    python scripts/ready.py BASE_URL API_KEY ADMIN_PASSWORD WORKER_NODE... -- PID...

Ready means: GET BASE_URL/readyz answers 200 (the web process reaches the database and the broker)
and every worker node answers a ping through the broker (`celery inspect ping`). A PID that exits
first (a process that failed to start) ends the wait with its name; so does a 120-second deadline.
"""

from __future__ import annotations

import os
import sys
import time

import requests

DEADLINE_SECONDS = 120.0


def answers(url: str, api_key: str = "") -> bool:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        return requests.get(url, headers=headers, timeout=5).status_code == 200
    except requests.RequestException:
        return False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_until_ready(base: str, nodes: set[str], pids: list[int]) -> None:
    from kongflow.celery import app

    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        dead = [pid for pid in pids if not alive(pid)]
        if dead:
            sys.exit(f"Kongflow did not start: process {dead[0]} exited (see its output above)")
        if answers(f"{base}/readyz"):
            replies = app.control.ping(destination=sorted(nodes), timeout=1.0)
            missing = nodes - {node for reply in replies for node in reply}
            if not missing:
                return
        else:
            missing = {"web"}
        if time.monotonic() > deadline:
            waiting = ", ".join(sorted(missing))
            sys.exit(f"Kongflow did not start within {DEADLINE_SECONDS:.0f}s: {waiting} not answering")
        time.sleep(0.5)


def banner(base: str, api_key: str, password: str) -> str:
    port = base.rsplit(":", 1)[1]
    checked = [
        (f"{base}/admin/", "", f"  Admin:     {base}/admin/          user: admin  password: {password}"),
        (f"{base}/api/docs", "", f"  API docs:  {base}/api/docs"),
        (f"{base}/api/schema", "", f"  Schema:    {base}/api/schema        (OpenAPI)"),
        (
            f"{base}/api/v1/whoami",
            api_key,
            f'  Whoami:    curl -H "Authorization: Bearer {api_key}" {base}/api/v1/whoami',
        ),
        (f"{base}/metrics", "", f"  Metrics:   {base}/metrics"),
        (f"{base}/healthz", "", f"  Health:    {base}/healthz"),
        (f"{base}/readyz", "", f"  Ready:     {base}/readyz"),
    ]
    lines = [line for url, key, line in checked if answers(url, key)]
    var_dir = os.environ.get("KONGFLOW_VAR_DIR", "var")
    database = "DATABASE_URL" if os.environ.get("DATABASE_URL") else f"embedded PostgreSQL in {var_dir}/postgres"
    return "\n".join(
        [
            "",
            f"  Kongflow is running ({database}, broker in {var_dir}/broker). Ctrl-C stops it.",
            *lines,
            f"  API key:   {api_key}   (DEVELOPMENT environment)",
            f"  CLI:       TRIGGER_API_URL=http://localhost:{port} TRIGGER_API_KEY={api_key} "
            "npx @trigger.dev/cli@2.3.19 dev (README)",
            "  Commands:  .venv/bin/python manage.py reindex --all --wait   (in another terminal; docs/operations.md)",
            "",
        ]
    )


def main(argv: list[str]) -> None:
    separator = argv.index("--")
    base, api_key, password, *nodes = argv[1:separator]
    pids = [int(pid) for pid in argv[separator + 1 :]]
    wait_until_ready(base, set(nodes), pids)
    print(banner(base, api_key, password), flush=True)


if __name__ == "__main__":
    main(sys.argv)
