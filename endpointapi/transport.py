"""HTTP plumbing: the per-process session, one guarded POST with timeouts, a deadline and a size cap.

Every request is checked by :mod:`endpointapi.guard` first and then connects only to the address
that was checked (:class:`PinnedAdapter`). Everything ``requests``/``urllib3`` can raise is
translated into :mod:`endpointapi.errors` here.
"""

from __future__ import annotations

import http.client
import os
import socket
import threading
import time
from dataclasses import dataclass
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

from endpointapi import guard
from endpointapi.errors import (
    EndpointApiError,
    EndpointConnectionError,
    EndpointTimeout,
    InvalidJSON,
    ResponseTooLarge,
)
from endpointapi.guard import AddressPolicy

__all__ = [
    "PinnedAdapter",
    "RawResponse",
    "new_session",
    "sanitize_url",
    "send",
    "shared_session",
]

CHUNK_SIZE = 64 * 1024
POOL_SIZE = 32

_lock = threading.Lock()
_session: requests.Session | None = None
_session_pid: int | None = None
#: Attribute of a PreparedRequest holding ``(address, hostname)``: where :class:`PinnedAdapter` connects.
PIN_ATTRIBUTE = "_endpointapi_pin"


class PinnedAdapter(HTTPAdapter):
    """Connects to the address the guard checked, never to a fresh resolution of the host name.

    The pool is chosen by that address (so a kept-alive connection is only reused for the same
    address); TLS still sends the host name as SNI and verifies the certificate against it.
    """

    def build_connection_pool_key_attributes(  # type: ignore[override]
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        params, kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        host_params: dict[str, Any] = dict(params)
        pool_kwargs: dict[str, Any] = dict(kwargs)
        pin = getattr(request, PIN_ATTRIBUTE, None)
        if pin is None:
            raise requests.exceptions.InvalidURL("endpointapi: request without a checked address")
        address, hostname = pin
        host_params["host"] = address
        if host_params["scheme"] == "https":
            pool_kwargs["server_hostname"] = hostname
            pool_kwargs["assert_hostname"] = hostname
        return host_params, pool_kwargs


def new_session() -> requests.Session:
    """A session fit for calling untrusted endpoints.

    No cookies are ever stored (an endpoint must not be able to plant cookies that would be sent
    to other endpoints on the same host), and the environment (proxy variables, ``~/.netrc``) is
    ignored so no ambient credentials are attached. Inject your own session to change that.
    """
    session = requests.Session()
    session.trust_env = False
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    adapter = PinnedAdapter(pool_connections=POOL_SIZE, pool_maxsize=POOL_SIZE, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def shared_session() -> requests.Session:
    """The process-wide session, recreated after ``fork`` (pooled sockets must not be shared)."""
    global _session, _session_pid
    pid = os.getpid()
    session = _session
    if session is not None and _session_pid == pid:
        return session
    with _lock:
        if _session is None or _session_pid != pid:
            _session, _session_pid = new_session(), pid
        return _session


def _reset_after_fork() -> None:
    global _lock, _session, _session_pid
    _lock = threading.Lock()  # another thread may have held it at fork time
    _session, _session_pid = None, None


os.register_at_fork(after_in_child=_reset_after_fork)


def sanitize_url(url: str) -> str:
    """The URL without credentials, query string or fragment (safe for logs)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = f"{host}:{parts.port}" if parts.port else host
    except ValueError:
        return "<invalid url>"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


@dataclass(frozen=True)
class RawResponse:
    status_code: int
    headers: CaseInsensitiveDict[str]
    body: bytes
    url: str
    duration: float  # seconds, from sending the request to the end of the body
    address: str  # the checked address that answered


def _seconds(value: float) -> str:
    return f"{value:g}"


def send(
    session: requests.Session,
    url: str,
    *,
    policy: AddressPolicy,
    headers: dict[str, str | bytes],
    body: bytes | None,
    connect_timeout: float,
    read_timeout: float,
    max_bytes: int,
    action: str | None = None,
    endpoint_url: str | None = None,
) -> RawResponse:
    """POST once (no redirects) to an address ``policy`` allows; the whole answer must arrive
    within ``read_timeout`` seconds and hold at most ``max_bytes``.

    The host is resolved once, every address checked (:class:`~endpointapi.guard.ForbiddenAddress`
    before any connection otherwise), and the connection made to a checked address, trying the
    next one only when one refuses the connection. ``endpoint_url`` is the URL named in messages
    (``url`` may be a redirect target); ``action`` only labels errors.
    """
    shown = endpoint_url or url
    context: dict[str, Any] = {"action": action, "url": shown}
    unreachable = f"Could not connect to endpoint {shown}"
    try:
        target = guard.parse_url(url)
    except guard.InvalidUrl as exc:
        raise EndpointConnectionError(unreachable, retryable=False, hint=f"{exc}", **context) from exc
    if not isinstance(session.get_adapter(target.url), PinnedAdapter):
        raise TypeError("endpointapi.transport.send needs a session from transport.new_session()")
    addresses = guard.resolve(target, policy, action=action, url=shown)
    started = time.perf_counter()
    deadline = time.monotonic() + read_timeout
    for position, address in enumerate(addresses):
        prepared = session.prepare_request(requests.Request("POST", target.url, headers=headers, data=body))
        prepared.headers["Host"] = target.host_header
        setattr(prepared, PIN_ATTRIBUTE, (address, target.host))
        try:
            response = _send_prepared(session, prepared, connect_timeout, read_timeout, unreachable, context)
        except _Refused as refused:
            if position + 1 < len(addresses):
                continue  # nothing was sent: the next checked address may answer
            raise refused.error from refused.error.__cause__
        break
    else:  # pragma: no cover - the loop either breaks or raises
        raise EndpointConnectionError(unreachable, **context)

    try:
        content = _read_body(
            response,
            deadline=deadline,
            max_bytes=max_bytes,
            read_timeout=read_timeout,
            unreachable=unreachable,
            context=context,
        )
    except BaseException:
        response.close()  # half-read connection: never return it to the pool
        raise
    response.close()
    return RawResponse(
        status_code=response.status_code,
        headers=response.headers,
        body=content,
        url=url,
        duration=time.perf_counter() - started,
        address=address,
    )


class _Refused(Exception):
    """The connection to one address was refused (nothing sent); carries the error to raise."""

    def __init__(self, error: EndpointConnectionError) -> None:
        super().__init__(error.message)
        self.error = error


def _send_prepared(
    session: requests.Session,
    prepared: requests.PreparedRequest,
    connect_timeout: float,
    read_timeout: float,
    unreachable: str,
    context: dict[str, Any],
) -> requests.Response:
    try:
        return session.send(prepared, timeout=(connect_timeout, read_timeout), allow_redirects=False, stream=True)
    except requests.exceptions.ConnectTimeout as exc:
        raise EndpointTimeout(f"{unreachable}. Timed out after {_seconds(connect_timeout)}s", **context) from exc
    except requests.exceptions.Timeout as exc:
        raise EndpointTimeout(f"{unreachable}. Timed out after {_seconds(read_timeout)}s", **context) from exc
    except requests.exceptions.SSLError as exc:
        raise EndpointConnectionError(
            unreachable, hint="The TLS handshake failed: check the endpoint's certificate.", **context
        ) from exc
    except (
        requests.exceptions.InvalidURL,
        requests.exceptions.MissingSchema,
        requests.exceptions.InvalidSchema,
        requests.exceptions.URLRequired,
    ) as exc:
        raise EndpointConnectionError(
            unreachable, retryable=False, hint="The endpoint URL is not a valid http(s) URL.", **context
        ) from exc
    except requests.exceptions.InvalidHeader as exc:
        raise EndpointConnectionError(
            unreachable, retryable=False, hint="A request header value is not valid (line breaks?).", **context
        ) from exc
    except requests.exceptions.ConnectionError as exc:
        error = EndpointConnectionError(unreachable, **context)
        error.__cause__ = exc
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        if isinstance(reason, urllib3.exceptions.NewConnectionError):
            raise _Refused(error) from exc
        raise error from exc
    except requests.exceptions.RequestException as exc:
        raise EndpointConnectionError(unreachable, **context) from exc
    except (urllib3.exceptions.LocationParseError, ValueError) as exc:
        raise EndpointConnectionError(
            unreachable, retryable=False, hint="The endpoint URL is not a valid http(s) URL.", **context
        ) from exc
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise EndpointConnectionError(unreachable, **context) from exc


def _socket_of(raw: urllib3.BaseHTTPResponse) -> socket.socket | None:
    connection = getattr(raw, "connection", None)
    sock = getattr(connection, "sock", None)
    return sock if isinstance(sock, socket.socket) else None


def _read_body(
    response: requests.Response,
    *,
    deadline: float,
    max_bytes: int,
    read_timeout: float,
    unreachable: str,
    context: dict[str, Any],
) -> bytes:
    """Read the body without ever holding more than ``max_bytes`` and without passing ``deadline``."""
    too_large = f"Endpoint {context['url']} responded with more than {max_bytes} bytes"
    declared = response.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > max_bytes:
        raise ResponseTooLarge(too_large, status_code=response.status_code, **context)

    timed_out = f"{unreachable}. Timed out after {_seconds(read_timeout)}s"
    raw = response.raw
    sock = _socket_of(raw)
    chunks: list[bytes] = []
    total = 0
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise EndpointTimeout(timed_out, status_code=response.status_code, **context)
            if sock is not None:
                # read1() does at most one recv(), so this bounds the whole body by the deadline
                # (a per-recv timeout alone would let a slow-drip body run forever).
                sock.settimeout(remaining)
            chunk = raw.read1(CHUNK_SIZE, decode_content=True)
            if not chunk:
                break
            total += len(chunk)
            if total > max_bytes:
                raise ResponseTooLarge(too_large, status_code=response.status_code, **context)
            chunks.append(chunk)
    except EndpointApiError:
        raise
    except urllib3.exceptions.ReadTimeoutError as exc:
        raise EndpointTimeout(timed_out, status_code=response.status_code, **context) from exc
    except urllib3.exceptions.DecodeError as exc:
        raise InvalidJSON(status_code=response.status_code, **context) from exc
    except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError, ValueError) as exc:
        # dropped connection, TLS failure mid-body, malformed chunked encoding
        raise EndpointConnectionError(unreachable, status_code=response.status_code, **context) from exc
    return b"".join(chunks)
