"""The web app in its own process (gunicorn), e.g. with a broker that is down."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import requests
from django.conf import settings

from tests.support.worker import wait_for

REPO = Path(__file__).resolve().parents[2]


def register_endpoint(base_url: str, *, slug: str, url: str, api_key: str, timeout: float = 60) -> requests.Response:
    """POST /api/v1/endpoints as the CLI does, against a web process or live server at `base_url`."""
    return requests.post(
        f"{base_url}/api/v1/endpoints",
        json={"id": slug, "url": url},
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=timeout,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class WebProcess:
    def __init__(self, env: dict[str, str] | None = None, base: dict[str, str] | None = None) -> None:
        """`base`: the environment to start from (this process's by default); `env` is added."""
        database = settings.DATABASES["default"]
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **(os.environ if base is None else base),
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
            "KONGFLOW_QUEUE_PREFIX": settings.KONGFLOW_QUEUE_PREFIX,
            **(env or {}),
        }
        self.log_path = Path(f"/tmp/kongflow-web-{self.port}.log")

    def __enter__(self) -> WebProcess:
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "kongflow.wsgi",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--worker-class",
                "gthread",
                "--threads",
                "4",
                "--workers",
                "1",
            ],
            cwd=REPO,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_for(self._up, timeout=30, what="gunicorn to start")
        return self

    def _up(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(self.log_path.read_text()[-3000:])
        try:
            requests.get(self.url + "/healthz", timeout=5)
        except requests.RequestException:  # not listening yet, or still importing the app
            return False
        return True

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)
        self.log.close()
