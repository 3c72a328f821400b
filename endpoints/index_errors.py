"""The documented set of `EndpointIndex.error.code` values, each with a one-line hint for the user.

An index FAILURE stores `{"code", "message", "hint", "raw"?}`; `message` keeps the v2 wording
that the CLI prints.
"""

from __future__ import annotations

from typing import Any

HINTS: dict[str, str] = {
    "CONNECTION_FAILED": "Check that your app is running and that the endpoint URL is reachable from Kongflow.",
    "TIMEOUT": "The endpoint took too long to answer; check your app's logs or raise ENDPOINTAPI_INDEX_READ_TIMEOUT.",
    "UNAUTHORIZED": "The endpoint's TRIGGER_API_KEY must be this environment's secret API key.",
    "HTTP_ERROR": "The endpoint answered with an error status; is the URL your Trigger.dev handler?",
    "REDIRECT": "The endpoint redirects to another origin, which is never sent the API key: register that URL instead.",
    "FORBIDDEN_ADDRESS": (
        "The endpoint URL is a private, loopback or link-local address this environment may not call; "
        "an operator can allow a network for the organization, or for all with ENDPOINTAPI_ALLOWED_NETWORKS."
    ),
    "REDIRECT_LOOP": "Register the final URL of your endpoint instead of one that keeps redirecting.",
    "REDIRECT_WITHOUT_LOCATION": "The endpoint redirected without a Location header; register its final URL.",
    "RESPONSE_TOO_LARGE": "The index document is larger than ENDPOINTAPI_MAX_RESPONSE_BYTES allows.",
    "INVALID_JSON": "The URL did not answer with JSON; make sure it points at your handler (often /api/trigger).",
    "INVALID_RESPONSE": "The endpoint's answer does not have the shape a Trigger.dev v2 SDK sends.",
    "INVALID_DOCUMENT": "Fix the job definitions listed above; nothing was registered from this index.",
    "ACTION_NOT_SUPPORTED": "Upgrade @trigger.dev/sdk: this endpoint does not understand the request.",
    "SUSPICIOUS_SHRINK": "Nothing was changed. If removing these jobs is intended, re-run the index with force.",
    "ENDPOINT_DELETED": "The endpoint was deleted; register it again to index it.",
    "WORKER_LOST": "The worker running this index stopped; it was retried until its attempts ran out.",
    "INTERNAL_ERROR": "Kongflow failed while storing the index; it was retried until its attempts ran out.",
}


def index_error(code: str, message: str, *, raw: str | None = None, hint: str | None = None) -> dict[str, Any]:
    """`hint` overrides the code's generic one (e.g. the client's "TLS handshake failed" advice)."""
    error: dict[str, Any] = {"code": code, "message": message, "hint": hint or HINTS.get(code, "")}
    if raw is not None:
        error["raw"] = raw
    return error
