"""HTTP plumbing: the per-process session, one POST with timeouts, a total deadline and a size cap.

Everything ``requests``/``urllib3`` can raise is translated into :mod:`endpointapi.errors` here.
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

from endpointapi.errors import (
    EndpointApiError,
    EndpointConnectionError,
    EndpointTimeout,
    InvalidJSON,
    ResponseTooLarge,
)

__all__ = ["RawResponse", "new_session", "same_origin", "sanitize_url", "send", "shared_session"]

CHUNK_SIZE = 64 * 1024
POOL_SIZE = 32

_lock = threading.Lock()
_session: requests.Session | None = None
_session_pid: int | None = None


def new_session() -> requests.Session:
    """A session fit for calling untrusted endpoints.

    No cookies are ever stored (an endpoint must not be able to plant cookies that would be sent
    to other endpoints on the same host), and the environment (proxy variables, ``~/.netrc``) is
    ignored so no ambient credentials are attached. Inject your own session to change that.
    """
    session = requests.Session()
    session.trust_env = False
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    adapter = HTTPAdapter(pool_connections=POOL_SIZE, pool_maxsize=POOL_SIZE, max_retries=0)
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


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


def same_origin(a: str, b: str) -> bool:
    try:
        return _origin(a) == _origin(b)
    except ValueError:
        return False


@dataclass(frozen=True)
class RawResponse:
    status_code: int
    headers: CaseInsensitiveDict[str]
    body: bytes
    url: str
    duration: float  # seconds, from sending the request to the end of the body


def _seconds(value: float) -> str:
    return f"{value:g}"


def send(
    session: requests.Session,
    url: str,
    *,
    action: str,
    endpoint_url: str,
    headers: dict[str, str | bytes],
    body: bytes | None,
    connect_timeout: float,
    read_timeout: float,
    max_bytes: int,
) -> RawResponse:
    """POST once (no redirects). The whole answer must arrive within ``read_timeout`` seconds.

    ``endpoint_url`` is the registered URL used in messages (``url`` may be a redirect target).
    """
    context: dict[str, Any] = {"action": action, "url": endpoint_url}
    unreachable = f"Could not connect to endpoint {endpoint_url}"
    started = time.perf_counter()
    deadline = time.monotonic() + read_timeout
    try:
        response = session.post(
            url,
            data=body,
            headers=headers,
            timeout=(connect_timeout, read_timeout),
            allow_redirects=False,
            stream=True,
        )
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
    except requests.exceptions.RequestException as exc:
        raise EndpointConnectionError(unreachable, **context) from exc
    except (urllib3.exceptions.LocationParseError, ValueError) as exc:
        # Some malformed hosts (e.g. "a..b") only fail when urllib3 connects, unwrapped by requests.
        raise EndpointConnectionError(
            unreachable, retryable=False, hint="The endpoint URL is not a valid http(s) URL.", **context
        ) from exc
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise EndpointConnectionError(unreachable, **context) from exc

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
    )


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
