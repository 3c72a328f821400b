"""deploy/nginx/kongflow.conf run by the real nginx on loopback, as unprivileged as it can be
(everything under a temp folder; dropped to `nobody` when the tests run as root)."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.support.waiting import wait_for
from tests.support.web import REPO, free_port

CONF = REPO / "deploy" / "nginx" / "kongflow.conf"


def require_nginx() -> str:
    """The nginx binary; skipped without it, except in CI (`CI` set; .ci/run installs it)."""
    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("nginx must be installed in CI (.ci/run: apt-get install nginx-light)")
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    return binary


def render(upstream: str, port: int, replace: dict[str, str] | None = None) -> str:
    """kongflow.conf with the test's upstream and port (each replaced exactly once)."""
    text = CONF.read_text()
    for old, new in {"web:8000": upstream, "listen 8080;": f"listen 127.0.0.1:{port};", **(replace or {})}.items():
        assert text.count(old) == 1, f"{old!r} must appear once in {CONF}"
        text = text.replace(old, new)
    return text


class NginxProxy:
    def __init__(self, upstream: str, replace: dict[str, str] | None = None) -> None:
        self.binary = require_nginx()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.dir = Path(tempfile.mkdtemp(prefix="kongflow-nginx-"))
        (self.dir / "kongflow.conf").write_text(render(upstream, self.port, replace))
        temp_paths = "\n".join(
            f"    {kind}_temp_path {self.dir / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        (self.dir / "nginx.conf").write_text(
            f"worker_processes 1;\npid {self.dir / 'nginx.pid'};\nerror_log {self.dir / 'error.log'} info;\n"
            "events { worker_connections 1024; }\n"
            f"http {{\n    access_log {self.dir / 'access.log'};\n{temp_paths}\n"
            f"    include {self.dir / 'kongflow.conf'};\n}}\n"
        )
        self.user = "nobody" if os.geteuid() == 0 else None
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)

    def __enter__(self) -> NginxProxy:
        conf, log = self.dir / "nginx.conf", self.dir / "error.log"
        command = [self.binary, "-p", str(self.dir), "-c", str(conf), "-e", str(log)]
        check = subprocess.run([*command, "-t"], capture_output=True, text=True, user=self.user)
        assert check.returncode == 0, check.stderr
        self.process = subprocess.Popen(
            [*command, "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, user=self.user
        )
        wait_for(self._listening, timeout=20, what="nginx to listen")
        return self

    def _listening(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(self.error_log())
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except OSError:
            return False
        return True

    def error_log(self) -> str:
        path = self.dir / "error.log"
        return path.read_text()[-3000:] if path.exists() else ""

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)
        shutil.rmtree(self.dir, ignore_errors=True)
