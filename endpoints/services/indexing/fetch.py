"""INDEX_ENDPOINT for a run or a preview, and what is checked and stored of its answer."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from django.utils import timezone

from endpointapi import EndpointApiClient, EndpointApiError, IndexResult, IndexUnchanged
from endpoints.index_errors import index_error
from endpoints.models import Endpoint
from endpoints.services.clients import call_with_key_fallback
from endpoints.utils import unstorable_path

from .failures import IndexFailure

R = TypeVar("R", bound=IndexResult | IndexUnchanged)


def fetch_index(endpoint: Endpoint, *, record_key: bool = True) -> IndexResult:
    """INDEX_ENDPOINT, the answer decoded and validated (see :func:`_fetch`)."""
    return _fetch(endpoint, EndpointApiClient.index_endpoint, record_key=record_key)


def fetch_index_unless(endpoint: Endpoint, *, body_hash: str) -> IndexResult | IndexUnchanged:
    """INDEX_ENDPOINT; when the endpoint answers exactly the bytes whose SHA-256 is `body_hash`
    (the latest SUCCESS run's body), nothing is decoded or validated: :class:`IndexUnchanged`."""

    def call(client: EndpointApiClient) -> IndexResult | IndexUnchanged:
        return client.index_endpoint_unless(body_hash)

    return _fetch(endpoint, call, record_key=True)


def _fetch(endpoint: Endpoint, action: Callable[[EndpointApiClient], R], *, record_key: bool) -> R:
    """INDEX_ENDPOINT; the client follows same-origin redirects (§5.4) and the result's `url` says
    where the document was found, stored only with a successful index (:func:`store_url`). During a
    key rotation grace the previous key is tried when the current one is rejected; with `record_key`
    the key the endpoint accepted is remembered on it."""
    if not endpoint.url:
        raise IndexFailure(index_error("ENDPOINT_DELETED", "Endpoint URL is not set"))
    try:
        result, _ = call_with_key_fallback(
            environment=endpoint.environment,
            url=endpoint.url,
            call=action,
            endpoint=endpoint,
            record=record_key,  # a preview writes nothing
        )
    except EndpointApiError as exc:
        # The client's hint when it is specific to this failure (TLS, bad URL, …), else ours for the code.
        hint = exc.hint if exc.hint != type(exc).default_hint else None
        error = index_error(exc.code, exc.message, raw=exc.raw, hint=hint)
        raise IndexFailure(error, retryable=exc.retryable, exchange=_exchange(exc)) from exc
    return result


def store_url(endpoint: Endpoint, url: str) -> None:
    """Move the endpoint to the URL its successful index was found at (inside the run's transaction)."""
    if url != endpoint.url:
        endpoint.url = url
        Endpoint.objects.filter(id=endpoint.id, url__isnull=False).update(url=url, updated_at=timezone.now())


def _exchange(exc: EndpointApiError) -> dict[str, Any] | None:
    return exc.exchange.to_dict() if exc.exchange is not None else None


# A surrogate's escape (`\ud800`-`\udfff`), or its UTF-8-style bytes, which the decoder also reads.
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")


def _maybe_unstorable(body: bytes) -> bool:
    """Whether a body could decode to text PostgreSQL cannot store (see :func:`reject_unstorable`).

    In JSON a NUL can only be the escape `\\u0000` (the decoder rejects raw control characters) and
    a body with no zero byte at all is not UTF-16/32 (which the decoder also accepts); an unpaired
    surrogate needs one of `_SURROGATE` (JSON.stringify escapes lone surrogates, and only those)."""
    if b"\\u0000" in body or b"\x00" in body:
        return True
    return (b"\\u" in body or b"\xed" in body) and _SURROGATE.search(body) is not None


def reject_unstorable(data: dict[str, Any], *, body: bytes = b"") -> None:
    """A NUL character or an unpaired surrogate is valid JSON but cannot be stored: fail like any
    invalid document. With the raw `body` it came from, most documents are cleared by byte searches."""
    if body and not _maybe_unstorable(body):
        return
    path = unstorable_path(data)
    if path is None:
        return
    at = ".".join(str(part) for part in path)
    what = "NUL characters or unpaired surrogates"
    if len(path) >= 2 and path[0] == "jobs" and isinstance(path[1], int):
        job_id = data["jobs"][path[1]].get("id", path[1])
        rest = ".".join(str(part) for part in path[2:])
        message = f'Your Jobs have issues:\n- Job "{job_id}": Text must not contain {what} at "{rest}".'
    else:
        message = f'There\'s an issue with the format of your Jobs: text must not contain {what} at "{at}".'
    raise IndexFailure(index_error("INVALID_DOCUMENT", message))


def store_versions(endpoint: Endpoint, result: IndexResult | IndexUnchanged) -> None:
    """One UPDATE when a version header changed; an absent header leaves its column as it is (§2.12)."""
    limit = Endpoint._meta.get_field("version").max_length  # version headers come from the endpoint
    version = (result.trigger_version or endpoint.version)[:limit]
    sdk_version = (result.trigger_sdk_version or endpoint.sdk_version)[:limit]
    if (version, sdk_version) != (endpoint.version, endpoint.sdk_version):
        endpoint.version, endpoint.sdk_version = version, sdk_version
        Endpoint.objects.filter(id=endpoint.id).update(
            version=version, sdk_version=sdk_version, updated_at=timezone.now()
        )
