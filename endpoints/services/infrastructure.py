"""Kongflow's own infrastructure: the host:port pairs no endpoint or webhook may use, whatever an
environment's outbound policy allows (DEVELOPMENT included).

They are the database, the Celery broker, the cache and Kongflow's own listening sockets
(KONGFLOW_SELF_ADDRESSES), read from the settings. Host names are resolved once per process and
cached; what the guard compares is addresses (see :class:`endpointapi.guard.Service`).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
from urllib.parse import urlsplit

from django.conf import settings

from endpointapi.guard import Service, parse_host_port

logger = logging.getLogger(__name__)

DATABASE, BROKER, CACHE, SELF = "Kongflow's database", "Kongflow's broker", "Kongflow's cache", "Kongflow itself"
#: By URL scheme, when the URL names no port.
DEFAULT_PORTS = {
    "postgres": 5432,
    "postgresql": 5432,
    "redis": 6379,
    "rediss": 6379,
    "sentinel": 26379,
    "amqp": 5672,
    "pyamqp": 5672,
    "amqps": 5671,
    "memcache": 11211,
    "pymemcache": 11211,
}

Pair = tuple[str, str, int]  # (what, host, port)

_lock = threading.Lock()
_resolved: dict[tuple[Pair, ...], tuple[Service, ...]] = {}
_warned: set[tuple[str, int]] = set()


def infrastructure_services() -> tuple[Service, ...]:
    """The pairs of the current settings, resolved (cached while every name resolves)."""
    pairs = infrastructure_pairs()
    services = _resolved.get(pairs)
    if services is None:
        services, complete = _resolve(pairs)
        if complete:
            with _lock:
                _resolved[pairs] = services
    return services


def infrastructure_pairs() -> tuple[Pair, ...]:
    """(what, host, port) of every socket Kongflow's processes connect to or listen on."""
    pairs: list[Pair] = []
    database = settings.DATABASES["default"]
    host = str(database.get("HOST") or "")
    if "postgresql" in database["ENGINE"] and host and not host.startswith("/"):  # "/…": a Unix socket
        port = int(database.get("PORT") or DEFAULT_PORTS["postgres"])
        pairs += [(DATABASE, name.strip(), port) for name in host.split(",")]  # libpq takes several hosts
    for url in settings.CELERY_BROKER_URL.split(";"):  # kombu's fail-over list
        pairs += _url_pair(BROKER, url)
    cache = settings.CACHES["default"]
    backend, location = str(cache["BACKEND"]).lower(), cache.get("LOCATION") or ""
    if "redis" in backend or "memcached" in backend:  # (not "locmem…": memory of this process)
        scheme = "redis" if "redis" in backend else "memcache"
        for item in location if isinstance(location, list | tuple) else str(location).split(","):
            pairs += _url_pair(CACHE, item if "://" in item else f"{scheme}://{item.strip()}")
    for address in settings.KONGFLOW_SELF_ADDRESSES:
        pairs.append((SELF, *parse_host_port(address)))
    return tuple(pairs)


def _url_pair(what: str, url: str) -> list[Pair]:
    try:
        parts = urlsplit(url.strip())
        host, port = parts.hostname, parts.port or DEFAULT_PORTS.get(parts.scheme.split("+")[0])
    except ValueError:
        return []
    return [(what, host, port)] if host and port else []  # filesystem://, memory://, unix sockets: none


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _lookup(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]).split("%", 1)[0] for info in infos]


def _resolve(pairs: tuple[Pair, ...]) -> tuple[tuple[Service, ...], bool]:
    services: list[Service] = []
    complete = True
    for what, host, port in pairs:
        try:
            addresses = [host] if _is_address(host) else _lookup(host, port)
        except OSError:
            complete = False  # asked again next time: a name may resolve once its service is up
            if (host, port) not in _warned:
                _warned.add((host, port))
                logger.warning("outbound.infrastructure_unresolved", extra={"host": host, "port": port})
            continue
        for address in dict.fromkeys(addresses):
            services.append(Service(name=what, address=ipaddress.ip_address(address), port=port))
    return tuple(dict.fromkeys(services)), complete
