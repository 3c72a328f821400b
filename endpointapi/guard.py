"""The outbound guard: which URLs and addresses the server may call (no server-side request forgery).

Every outbound request goes through :func:`parse_url` (the one URL parser, used for validation and
for the request) and :func:`resolve` (one resolution, every address checked against the caller's
:class:`AddressPolicy`). The transport then connects to a checked address only (pinned: no second
DNS lookup between the check and the connect), so DNS rebinding cannot reach a refused address.

A policy also names the caller's own services (:class:`Service`: its database, broker, cache and
listening sockets); their host:port pairs are refused whatever the policy otherwise allows.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from endpointapi.errors import EndpointApiError, EndpointConnectionError

__all__ = [
    "ALLOWED_NETWORKS_SETTING",
    "INFRASTRUCTURE_HINT",
    "AddressPolicy",
    "ForbiddenAddress",
    "IPAddress",
    "IPNetwork",
    "InvalidUrl",
    "Service",
    "Target",
    "classify",
    "parse_networks",
    "parse_url",
    "resolve",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
#: ``(host, port) -> addresses`` as strings; the default calls ``socket.getaddrinfo`` once.
Resolver = Callable[[str, int], Sequence[str]]

ALLOWED_NETWORKS_SETTING = "ENDPOINTAPI_ALLOWED_NETWORKS"
DEFAULT_PORTS = {"http": 80, "https": 443}

_N = ipaddress.ip_network
#: Refused unless the policy allows private addresses or an allowed network contains the address.
#: ``is_global`` and ``is_multicast`` catch what this list does not name.
BLOCKED_NETWORKS: tuple[tuple[str, IPNetwork], ...] = (
    ("an unspecified", _N("0.0.0.0/8")),
    ("a private", _N("10.0.0.0/8")),
    ("a carrier-grade NAT", _N("100.64.0.0/10")),
    ("a loopback", _N("127.0.0.0/8")),
    ("a link-local", _N("169.254.0.0/16")),  # incl. the cloud metadata address 169.254.169.254
    ("a private", _N("172.16.0.0/12")),
    ("a reserved", _N("192.0.0.0/24")),
    ("a documentation", _N("192.0.2.0/24")),
    ("a private", _N("192.168.0.0/16")),
    ("a benchmarking", _N("198.18.0.0/15")),
    ("a documentation", _N("198.51.100.0/24")),
    ("a documentation", _N("203.0.113.0/24")),
    ("a multicast", _N("224.0.0.0/4")),
    ("a reserved", _N("240.0.0.0/4")),  # incl. 255.255.255.255
    ("an unspecified", _N("::/128")),
    ("a loopback", _N("::1/128")),
    ("a reserved", _N("100::/64")),
    ("a reserved", _N("2001::/23")),
    ("a documentation", _N("2001:db8::/32")),
    ("a unique-local", _N("fc00::/7")),
    ("a link-local", _N("fe80::/10")),
    ("a site-local", _N("fec0::/10")),
    ("a multicast", _N("ff00::/8")),
    ("a local-use NAT64", _N("64:ff9b:1::/48")),  # RFC 8215
    ("an IPv4-translated", _N("::ffff:0:0:0/96")),  # SIIT, RFC 2765
)
#: IPv6 prefixes whose last 32 bits are an IPv4 address (NAT64 well-known and local-use, SIIT).
_TRANSLATED = (_N("64:ff9b::/96"), _N("64:ff9b:1::/48"), _N("::ffff:0:0:0/96"))
_IPV4_COMPATIBLE = _N("::/96")
INFRASTRUCTURE_HINT = (
    "This host and port is one of the service's own infrastructure (its database, broker, cache or "
    "listening sockets): no endpoint may use it, whatever the allowed networks say. "
    "Serve the endpoint on another host or port."
)


class InvalidUrl(ValueError):
    """The URL cannot be used for an endpoint; ``str()`` says why in one sentence."""


class ForbiddenAddress(EndpointApiError):
    """The URL's host is, or resolves to, an address the caller's policy refuses. Nothing was sent."""

    code = "FORBIDDEN_ADDRESS"
    default_retryable = False
    default_hint = (
        "Endpoints must be reachable on public addresses. An operator can open a private network "
        "for one organization (its allowed networks) or for every one with "
        f"{ALLOWED_NETWORKS_SETTING} (comma-separated CIDRs)."
    )

    def __init__(self, message: str, *, address: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.address = address


def parse_networks(value: str | Sequence[str]) -> tuple[IPNetwork, ...]:
    """``"10.0.0.0/8, fd00::/8"`` (commas or white space between) -> networks. Raises ValueError
    naming the bad entry."""
    items = re.split(r"[,\s]+", value) if isinstance(value, str) else list(value)
    networks: list[IPNetwork] = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ValueError(f"{item!r} is not a network (CIDR)") from exc
    return tuple(networks)


def parse_host_port(value: str) -> tuple[str, int]:
    """``"db.internal:5432"``, ``"0.0.0.0:8000"``, ``"[::1]:8000"`` -> (host, port). Raises ValueError."""
    try:
        parts = urlsplit(f"//{value.strip()}")
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise ValueError(f"{value!r} is not host:port") from exc
    if not host or not port or parts.path or parts.username:
        raise ValueError(f"{value!r} is not host:port")
    return host, port


def _system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, compatible, 6to4, NAT64), if any."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if any(address in prefix for prefix in _TRANSLATED) or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _is_local(address: IPAddress) -> bool:
    """Whether ``address`` is one of this machine's: loopback, unspecified, or one it can bind to."""
    if address.is_loopback or address.is_unspecified:
        return True
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((str(address), 0))  # nothing listens or connects: the kernel only says "mine"
    except OSError:
        return False
    return True


@dataclass(frozen=True)
class Service:
    """A host:port of the caller's own infrastructure, never called whatever a policy allows.

    A loopback ``address`` stands for every loopback spelling (127.0.0.0/8, ::1, 0.0.0.0, which
    Linux connects to loopback); an unspecified one (``0.0.0.0``, ``::``: a socket bound to every
    address) for every address of this machine. Ports must match: other ports of the host stay open.
    """

    name: str  # "the database", for messages
    address: IPAddress
    port: int

    def covers(self, address: IPAddress, port: int) -> bool:
        if port != self.port:
            return False
        candidates = [c for c in (address, _embedded_ipv4(address)) if c is not None]
        mine = _embedded_ipv4(self.address) or self.address
        if mine.is_unspecified:
            return any(_is_local(c) for c in candidates)
        if mine.is_loopback:
            return any(c.is_loopback or c.is_unspecified for c in candidates)
        return mine in candidates


def classify(address: IPAddress) -> str | None:
    """``"a loopback"``, ``"a private"``… for an address that is not public; None for a public one."""
    for candidate in (_embedded_ipv4(address), address):
        if candidate is None:
            continue
        for kind, network in BLOCKED_NETWORKS:
            if candidate.version == network.version and candidate in network:
                return kind
        if candidate.is_multicast:
            return "a multicast"
        if not candidate.is_global:
            return "a non-public"
    return None


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses outbound calls may connect to.

    ``allow_private`` opens every address (DEVELOPMENT environments call ``localhost``);
    ``allowed_networks`` opens chosen networks only; ``infrastructure`` is refused whatever the
    rest says. ``resolver`` exists for tests (a fake DNS).
    """

    allow_private: bool = False
    allowed_networks: tuple[IPNetwork, ...] = ()
    infrastructure: tuple[Service, ...] = ()
    resolver: Resolver | None = field(default=None, compare=False, repr=False)

    def infrastructure_at(self, address: IPAddress, port: int) -> Service | None:
        """The caller's own service listening at ``address``:``port``, if any."""
        return next((service for service in self.infrastructure if service.covers(address, port)), None)

    def refusal(self, address: IPAddress) -> str | None:
        """Why ``address`` is refused (``"a loopback"``…), or None when it may be called."""
        if self.allow_private:
            return None
        embedded = _embedded_ipv4(address)
        for network in self.allowed_networks:
            for candidate in (address, embedded):
                if candidate is not None and candidate.version == network.version and candidate in network:
                    return None
        return classify(address)


@dataclass(frozen=True)
class Target:
    """A parsed, validated http(s) URL. ``url`` is what is requested; ``host_header`` its Host."""

    scheme: str
    host: str  # lowercase, IDNA-encoded, IPv6 without brackets
    port: int
    explicit_port: bool
    path: str  # path and query, never empty
    address: IPAddress | None  # the host, when it is a numeric address (in any spelling)

    @property
    def origin(self) -> tuple[str, str, int]:
        return (self.scheme, self.host, self.port)

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}" if self.explicit_port else host

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host_header}{self.path}"


def _ipv4_number(part: str) -> int | None:
    """One part of an IPv4 address as inet_aton and the URL standard read it (0x hex, 0 octal)."""
    if part[:2].lower() == "0x":
        digits, base = part[2:], 16
        if digits == "":
            return 0
    elif len(part) > 1 and part.startswith("0"):
        digits, base = part[1:], 8
    else:
        digits, base = part, 10
    allowed = {16: "0123456789abcdefABCDEF", 8: "01234567", 10: "0123456789"}[base]
    if not digits or any(c not in allowed for c in digits):
        return None
    return int(digits, base)


def _numeric_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """``2130706433``, ``0x7f000001``, ``0177.0.0.1``, ``127.1`` -> 127.0.0.1; None for a name.

    Raises InvalidUrl for a number that is no address (out of range)."""
    parts = host.split(".")
    if parts and parts[-1] == "" and len(parts) > 1:
        parts.pop()  # one trailing dot, as in "127.0.0.1."
    if not parts or _ipv4_number(parts[-1]) is None:
        return None
    numbers = [_ipv4_number(p) for p in parts]
    if len(parts) > 4 or any(n is None for n in numbers):
        # A name ending in a number is read as an IPv4 address by the URL standard: refuse, don't guess.
        raise InvalidUrl("The URL's host is not a valid IPv4 address.")
    values = [n for n in numbers if n is not None]
    *head, last = values
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(values)):
        raise InvalidUrl("The URL's host is not a valid IPv4 address.")
    value = last
    for i, n in enumerate(head):
        value += n << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-._")


def parse_url(url: str) -> Target:
    """Parse and validate an endpoint URL. Raises :class:`InvalidUrl`.

    Anything two URL parsers could read differently is refused rather than guessed: backslashes,
    whitespace and control characters, and user info (which also keeps credentials out of URLs).
    """
    if not isinstance(url, str) or not url:
        raise InvalidUrl("The URL is empty.")
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise InvalidUrl("The URL must not contain whitespace or control characters.")
    if "\\" in url:
        raise InvalidUrl("The URL must not contain backslashes.")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise InvalidUrl("The URL is not a valid URL.") from exc
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise InvalidUrl("The URL must start with http:// or https://.")
    netloc = parts.netloc
    if "@" in netloc:
        raise InvalidUrl("The URL must not contain credentials (user:password@); endpoints authenticate with the key.")
    if not netloc or not url[len(parts.scheme) + 1 :].startswith("//"):
        raise InvalidUrl("The URL has no host.")
    try:
        port = parts.port
    except ValueError as exc:
        raise InvalidUrl("The URL's port is not a number between 1 and 65535.") from exc
    if port == 0:
        raise InvalidUrl("The URL's port is not a number between 1 and 65535.")
    if netloc.startswith("["):
        host_part = netloc[1 : netloc.index("]")] if "]" in netloc else ""
    else:
        host_part = netloc.rsplit(":", 1)[0] if ":" in netloc else netloc
    address: IPAddress | None = None
    if netloc.startswith("["):
        try:
            address = ipaddress.IPv6Address(host_part)  # zone ids ("%eth0") are refused here too
        except ValueError as exc:
            raise InvalidUrl("The URL's host is not a valid IPv6 address.") from exc
        if "%" in host_part:
            raise InvalidUrl("The URL's host must not carry an IPv6 zone.")
        host = str(address)
    else:
        if not host_part:
            raise InvalidUrl("The URL has no host.")
        try:
            host = host_part.encode("idna").decode("ascii").lower()
        except UnicodeError as exc:
            raise InvalidUrl("The URL's host is not a valid host name.") from exc
        if not set(host) <= _HOST_CHARS or ".." in host or host.startswith("."):
            raise InvalidUrl("The URL's host is not a valid host name.")
        ipv4 = _numeric_ipv4(host)
        if ipv4 is not None:
            address, host = ipv4, str(ipv4)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(
        scheme=scheme,
        host=host,
        port=port or DEFAULT_PORTS[scheme],
        explicit_port=port is not None,
        path=path,
        address=address,
    )


def resolve(target: Target, policy: AddressPolicy, *, action: str | None = None, url: str | None = None) -> list[str]:
    """Resolve the host once and check every address; the addresses to connect to, in order.

    Raises :class:`ForbiddenAddress` when any address is refused (a name that resolves to both a
    public and a private address is refused) or is one of the policy's ``infrastructure`` at the
    target's port, :class:`EndpointConnectionError` when it does not resolve.
    """
    shown = url or target.url
    context: dict[str, Any] = {"action": action, "url": shown}
    if target.address is not None:
        candidates = [str(target.address)]
    else:
        try:
            candidates = list((policy.resolver or _system_resolver)(target.host, target.port))
        except (OSError, UnicodeError) as exc:
            raise EndpointConnectionError(
                f"Could not connect to endpoint {shown}",
                hint=f"The host name {target.host} could not be resolved.",
                **context,
            ) from exc
        if not candidates:
            raise EndpointConnectionError(f"Could not connect to endpoint {shown}", **context)
    addresses: list[str] = []
    for candidate in candidates:
        address = ipaddress.ip_address(candidate.split("%", 1)[0])
        service = policy.infrastructure_at(address, target.port)
        if service is not None:
            raise ForbiddenAddress(
                f"Endpoint {shown} resolves to {address} port {target.port}, {service.name}, which no endpoint may use",
                address=str(address),
                hint=INFRASTRUCTURE_HINT,
                **context,
            )
        reason = policy.refusal(address)
        if reason is not None:
            raise ForbiddenAddress(
                f"Endpoint {shown} resolves to {address}, {reason} address, which this environment may not call",
                address=str(address),
                **context,
            )
        if str(address) not in addresses:
            addresses.append(str(address))
    return addresses
