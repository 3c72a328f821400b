"""Outbound-guard helpers for tests: a loopback-only policy with a fake DNS, and a record of every
socket connect made by this process (a `sys.addaudithook` on "socket.connect": no patching)."""

from __future__ import annotations

import ipaddress
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

#: A public address (example.com's) for names that stand for public endpoints in tests faked with
#: `responses`; use it inside `loopback_only()`, so a test that forgets `responses` connects nowhere.
PUBLIC_ADDRESS = "93.184.215.14"


def public_dns(host: str, port: int) -> list[str]:
    return [PUBLIC_ADDRESS]


#: Like LOOPBACK_POLICY, but host names resolve to PUBLIC_ADDRESS.
PUBLIC_NAMES_POLICY = AddressPolicy(allowed_networks=LOOPBACK, resolver=public_dns)

_lock = threading.Lock()
_recorders: list[list[Any]] = []
_installed = False


_lookups: list[list[Any]] = []
_fences = 0
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


class LeftLoopback(ConnectionRefusedError):
    """Raised by the audit hook inside `loopback_only()`: an attempt to reach beyond loopback."""


def _is_loopback(host: Any) -> bool:
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    if not isinstance(host, str):
        return True  # AF_UNIX paths and the like
    if host in _LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _fences and event in ("socket.connect", "socket.getaddrinfo"):
        target = args[1] if event == "socket.connect" else args[0]
        host = target[0] if isinstance(target, tuple) else target
        if not _is_loopback(host):
            raise LeftLoopback(f"test fence: {event} to {host!r} refused (tests stay on loopback)")
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
def loopback_only() -> Iterator[None]:
    """Inside the block, any DNS lookup or connect beyond loopback fails (as a refused connection)."""
    global _fences
    with _lock:
        _install()
        _fences += 1
    try:
        yield
    finally:
        with _lock:
            _fences -= 1


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
