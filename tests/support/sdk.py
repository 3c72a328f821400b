"""Start real Trigger.dev v2 SDK endpoints (Node processes) on 127.0.0.1 for tests."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = REPO / "tests" / "scenarios"


def fixture_dir() -> Path:
    """Where the shared SDK fixture was `npm ci`-ed (see Makefile `fixture`)."""
    configured = os.environ.get("KONGFLOW_SDK_FIXTURE_DIR")
    candidates = [Path(configured)] if configured else []
    candidates += [REPO / ".cache" / "sdk-fixture", REPO.parent / "shared" / "fixtures" / "trigger-sdk-endpoint"]
    for candidate in candidates:
        if (candidate / "node_modules").is_dir():
            return candidate
    raise RuntimeError("SDK fixture is not installed: run `make fixture`")


@dataclass
class RunningEndpoint:
    url: str
    id: str
    pid: int
    port: int
    process: subprocess.Popen

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_endpoint(
    *,
    api_key: str,
    endpoint_id: str,
    scenario: str = "basic",
    script: Path | None = None,
    extra_args: list[str] | None = None,
    timeout: float = 30.0,
) -> RunningEndpoint:
    """Start `server.mjs` (or another script printing the same JSON line) and wait for its URL."""
    script = script or fixture_dir() / "server.mjs"
    args = [
        "node",
        str(script),
        "--scenario",
        scenario,
        "--id",
        endpoint_id,
        "--api-key",
        api_key,
        "--port",
        "0",
        "--scenario-dir",
        str(SCENARIOS),
        *(extra_args or []),
    ]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = _read_first_line(process, timeout)
    info = json.loads(line)
    return RunningEndpoint(url=info["url"], id=info["id"], pid=info["pid"], port=info["port"], process=process)


def _read_first_line(process: subprocess.Popen, timeout: float) -> str:
    import selectors

    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            process.kill()
            raise RuntimeError("SDK endpoint did not start in time")
    line = process.stdout.readline()
    if not line:
        raise RuntimeError(f"SDK endpoint exited with {process.wait()}")
    return line


@contextlib.contextmanager
def sdk_endpoint(**kwargs) -> Iterator[RunningEndpoint]:
    endpoint = start_endpoint(**kwargs)
    try:
        yield endpoint
    finally:
        endpoint.stop()
