"""Every route, with every path parameter replaced by a NUL (`%00`), a lone surrogate
(`%ED%A0%80`) or invalid UTF-8 (`%FF`), as an operator and as an API key: a 4xx (JSON under
/api/), never a 500, and nothing logged at ERROR."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests import factories

pytestmark = pytest.mark.django_db
BAD_VALUES = ("%00", "a%00b", "%ED%A0%80", "%FF")
_ROUTE_PARAMETER = re.compile(r"<(?:[^>:]+:)?[^>]+>")
_REGEX_GROUP = re.compile(r"\(\?P<[^>]+>(?:[^()]|\([^()]*\))*\)")


def routes(resolver: URLResolver | None = None, prefix: str = "") -> Iterator[str]:
    """Every URL pattern as a path template, parameters marked `{}`."""
    for pattern in (resolver or get_resolver()).url_patterns:
        text = str(pattern.pattern).removeprefix("^").removesuffix("$").replace("\\", "")
        text = _ROUTE_PARAMETER.sub("{}", _REGEX_GROUP.sub("{}", text))
        if isinstance(pattern, URLResolver):
            yield from routes(pattern, prefix + text)
        elif isinstance(pattern, URLPattern):
            yield "/" + prefix + text


def test_every_parameterised_route_is_enumerated():
    templates = set(routes())
    assert "/api/v1/endpoints/{}/{}/index/{}" in templates  # the unauthenticated hook
    assert "/api/v1/event-subscriptions/{}/rotate-secret" in templates
    assert "/admin/endpoints/endpoint/{}/change/" in templates
    assert len([t for t in templates if "{}" in t]) > 30


@pytest.fixture
def client_as_everyone() -> Client:
    """An operator's session and an API key on the same client: every route gets past authentication."""
    environment = factories.RuntimeEnvironmentFactory()
    client = Client(HTTP_AUTHORIZATION=f"Bearer {environment.api_key}", raise_request_exception=False)
    client.force_login(get_user_model().objects.create_superuser("ops", "ops@example.com", "pw"))
    return client


@pytest.mark.parametrize("bad", BAD_VALUES)
def test_invalid_text_in_any_path_parameter_is_never_a_500(client_as_everyone, caplog, bad):
    answers: dict[str, int] = {}
    with caplog.at_level(logging.WARNING):
        for template in sorted(set(routes())):
            if "{}" not in template:
                continue
            url = template.replace("{}", bad)
            for method in ("get", "post", "patch", "delete"):
                response = getattr(client_as_everyone, method)(url)
                answers[f"{method.upper()} {url}"] = response.status_code
                assert response.status_code < 500, (method, url, response.content[:200])
                if url.startswith("/api/") and response.status_code >= 400:
                    assert response["Content-Type"] == "application/json", (method, url)
                    assert set(response.json()) == {"error"}, (method, url)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]
    if "%00" in bad:
        assert set(answers.values()) == {400}, answers  # refused before any view
    else:
        assert 404 in answers.values()


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/registry-events?after=%00",
        "/api/v1/endpoints/x/index?reason=a%00b",
        "/admin/endpoints/endpoint/?q=%00",
        "/admin/endpoints/runtimeenvironment/?q=x%00",
    ],
)
def test_a_nul_in_the_query_string_is_a_400_json(client_as_everyone, url):
    response = client_as_everyone.get(url)
    assert response.status_code == 400
    assert response.json() == {"error": "The URL contains a NUL character (%00)"}


def test_the_hook_route_without_credentials(client, caplog):
    environment = factories.RuntimeEnvironmentFactory()
    with caplog.at_level(logging.WARNING):
        for bad in BAD_VALUES:
            for url in (
                f"/api/v1/endpoints/{environment.id}/{bad}/index/{bad}",
                f"/api/v1/endpoints/{bad}/slug/index/hook",
            ):
                response = client.post(url)
                assert response.status_code in (400, 404), (url, response.status_code)
                assert set(response.json()) == {"error"}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
