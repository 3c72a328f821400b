"""Error values: codes, retryability, survival through pickle/Celery, and small helpers."""

from __future__ import annotations

import pickle

import pytest

import endpointapi
from endpointapi import (
    ActionNotSupported,
    ClientConfig,
    EndpointApiError,
    EndpointConnectionError,
    EndpointHTTPError,
    EndpointRedirect,
    EndpointTimeout,
    EndpointUnauthorized,
    EndpointUnreachable,
    InvalidEndpointResponse,
    InvalidIndexDocument,
    InvalidJSON,
    Issue,
    ResponseTooLarge,
)
from endpointapi.client import redirect_allowed
from endpointapi.errors import EndpointRedirectLoop, EndpointRedirectWithoutLocation
from endpointapi.transport import sanitize_url

CODES = {
    EndpointConnectionError: ("CONNECTION_FAILED", True),
    EndpointTimeout: ("TIMEOUT", True),
    EndpointUnauthorized: ("UNAUTHORIZED", False),
    EndpointRedirect: ("REDIRECT", False),
    EndpointRedirectLoop: ("REDIRECT_LOOP", False),
    EndpointRedirectWithoutLocation: ("REDIRECT_WITHOUT_LOCATION", False),
    ResponseTooLarge: ("RESPONSE_TOO_LARGE", False),
    InvalidEndpointResponse: ("INVALID_RESPONSE", False),
    InvalidJSON: ("INVALID_JSON", False),
    InvalidIndexDocument: ("INVALID_DOCUMENT", False),
    ActionNotSupported: ("ACTION_NOT_SUPPORTED", False),
}


@pytest.mark.parametrize(("cls", "expected"), CODES.items(), ids=[cls.__name__ for cls in CODES])
def test_codes_retryability_and_hints(cls, expected):
    error = cls("boom", action="PING")
    assert (error.code, error.retryable) == expected
    assert isinstance(error, EndpointApiError)
    assert error.hint and "\n" not in error.hint
    assert str(error) == error.message == "boom"


def test_http_error_retryability_follows_the_status():
    assert EndpointHTTPError("x", status_code=503).retryable is True
    assert EndpointHTTPError("x", status_code=429).retryable is True
    assert EndpointHTTPError("x", status_code=404).retryable is False
    assert EndpointHTTPError("x", status_code=404, retryable=True).retryable is True


def test_invalid_json_default_message():
    assert InvalidJSON().message == (
        "Could not parse response from endpoint. Make sure it points to the correct URL "
        "(you might be missing /api/trigger)"
    )


def test_errors_survive_pickle_and_celery_style_reconstruction():
    error = InvalidIndexDocument(
        "Your Jobs have issues",
        issues=[Issue(("jobs", 0, "id"), "Required", "invalid_type")],
        raw="[]",
        action="INDEX_ENDPOINT",
        url="http://x",
        status_code=200,
    )
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert type(copy) is InvalidIndexDocument
    assert vars(copy) == vars(error)
    assert copy.args == ("Your Jobs have issues",)
    redirect = pickle.loads(pickle.dumps(EndpointRedirect("moved", location="/new", status_code=308)))  # noqa: S301
    assert (redirect.location, redirect.status_code) == ("/new", 308)
    # Celery's JSON result encoding rebuilds exceptions as `cls(*args)`
    for cls in (*CODES, EndpointHTTPError):
        rebuilt = cls(*cls("message").args)
        assert rebuilt.message == "message"


def test_to_dict_is_json_ready():
    error = EndpointUnauthorized("Trigger API key is invalid", action="PING", status_code=401)
    assert error.to_dict() == {
        "code": "UNAUTHORIZED",
        "message": "Trigger API key is invalid",
        "hint": error.hint,
        "retryable": False,
        "action": "PING",
        "status_code": 401,
    }


def test_style_guide_aliases():
    assert EndpointUnreachable is EndpointConnectionError
    assert endpointapi.EndpointResponseError is EndpointHTTPError


def test_package_does_not_import_django():
    import subprocess
    import sys

    code = (
        "import sys, endpointapi; print(sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'endpoints')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(
    ("registered", "target", "allowed"),
    [
        ("https://app.example.com/api/trigger", "https://APP.example.com:443/other", True),
        ("http://localhost:3000/api/trigger", "http://localhost:3000/api/trigger/", True),
        ("http://localhost:3000/x", "http://localhost:3001/x", False),
        ("https://app.example.com/x", "http://app.example.com/x", False),  # a downgrade
        ("https://app.example.com/x", "https://www.app.example.com/x", False),
        ("https://app.example.com/x", "https://app.example.com:notaport/x", False),
        # http -> https: only from the default port to the default port of the same host
        ("http://app.example.com/x", "https://app.example.com/x", True),
        ("http://app.example.com:80/x", "https://app.example.com:443/y", True),
        ("http://app.example.com/x", "https://app.example.com:8443/x", False),
        ("http://app.example.com:8080/x", "https://app.example.com/x", False),
        ("http://127.0.0.1:3000/x", "https://127.0.0.1:5432/x", False),
        ("http://app.example.com/x", "https://www.app.example.com/x", False),
    ],
)
def test_redirect_allowed(registered, target, allowed):
    assert redirect_allowed(registered, target) is allowed


def test_sanitize_url_drops_credentials_query_and_fragment():
    assert sanitize_url("https://user:pw@app.example.com:8443/api/trigger?key=1#f") == (
        "https://app.example.com:8443/api/trigger"
    )


def test_config_validation():
    with pytest.raises(ValueError, match="read_timeout"):
        ClientConfig(read_timeout=0)
    with pytest.raises(ValueError, match="retries"):
        ClientConfig(retries=-1)
