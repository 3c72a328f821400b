"""Outbound-guard helpers for tests: a loopback-only policy with a fake DNS, and a record of every
socket connect made by this process (a `sys.addaudithook` on "socket.connect": no patching)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from endpointapi import AddressPolicy
from endpointapi.guard import parse_networks

LOOPBACK = parse_networks("127.0.0.0/8,::1/128")


def loopback_dns(host: str, port: int) -> list[str]:
    """Every name resolves to 127.0.0.1: a test that forgets `responses` still stays on loopback."""
    return ["127.0.0.1"]


#: Public addresses refused, loopback allowed; host names resolve to 127.0.0.1.
LOOPBACK_POLICY = AddressPolicy(allowed_networks=LOOPBACK, resolver=loopback_dns)

_lock = threading.Lock()
_recorders: list[list[Any]] = []
_installed = False


_lookups: list[list[Any]] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "socket.connect" and _recorders:
        with _lock:
            for recorder in _recorders:
                recorder.append(args[1])
    elif event == "socket.getaddrinfo" and _lookups:
        with _lock:
            for lookup in _lookups:
                lookup.append(args[0])


def _install() -> None:
    global _installed
    if not _installed:
        sys.addaudithook(_audit)  # audit hooks cannot be removed: one, switched by the lists
        _installed = True


@contextmanager
def dns_lookups() -> Iterator[list[Any]]:
    """Collect the host of every `socket.getaddrinfo` call of this process in the block."""
    with _lock:
        _install()
        lookup: list[Any] = []
        _lookups.append(lookup)
    try:
        yield lookup
    finally:
        with _lock:
            _lookups.remove(lookup)


@contextmanager
def socket_connects() -> Iterator[list[Any]]:
    """Collect the address of every `socket.connect` (any thread of this process) in the block."""
    with _lock:
        _install()
        recorder: list[Any] = []
        _recorders.append(recorder)
    try:
        yield recorder
    finally:
        with _lock:
            _recorders.remove(recorder)
