"""The API's contract: every error is JSON, limits answer 429, bodies are read however they are sent,
slugs and URLs are checked, /metrics can be protected."""

from __future__ import annotations

import pytest
import requests
from django.db import connection
from rest_framework.test import APIClient

from endpoints.models import Endpoint, EndpointIndex
from tests import factories
from tests.conftest import DEV_KEY
from tests.support.web import WebProcess

# -- every error is JSON ----------------------------------------------------------------------------


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("path", ["/api", "/api/nope", "/api/v2/endpoints", "/api/v1/endpoints/a/b/c/d/e/f", "/api/"])
def test_unknown_api_routes_are_json_404s_even_with_debug_on(client, settings, db, debug, path):
    settings.DEBUG = debug
    response = client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": "Not found"}


def test_routes_outside_the_api_keep_their_own_pages(client, db):
    response = client.get("/nope")
    assert response.status_code == 404 and "application/json" not in response["Content-Type"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("put", "/api/v1/endpoints"), ("delete", "/api/v1/whoami"), ("patch", "/api/v1/endpointindex/x")],
)
def test_405s_are_json(auth_client, method, path):
    response = getattr(auth_client, method)(path)
    assert response.status_code == 405
    assert response.json() == {"error": "Method not allowed"}


def test_oversized_headers_are_a_json_431(auth_client, settings):
    settings.KONGFLOW_MAX_HEADER_BYTES = 1024
    response = auth_client.get("/api/v1/whoami", HTTP_X_PADDING="x" * 2000)
    assert response.status_code == 431
    assert response.json() == {"error": "Request headers are too large"}


def test_a_database_failure_during_registration_is_a_generic_500(auth_client, sdk_basic, settings):
    """A real database error (a CHECK constraint the upsert violates), not a mocked one."""
    settings.DEBUG = True  # even then, no internal text
    with connection.cursor() as cursor:  # DDL is transactional: rolled back with the test
        cursor.execute("ALTER TABLE endpoints_endpoint ADD CONSTRAINT no_my_endpoint CHECK (slug <> 'my-endpoint')")
    auth_client.raise_request_exception = False
    response = auth_client.post("/api/v1/endpoints", {"id": "my-endpoint", "url": sdk_basic.url}, format="json")
    assert response.status_code == 500
    assert response.json() == {"error": "Something went wrong"}
    assert b"no_my_endpoint" not in response.content and b"violates" not in response.content


# -- strict input -----------------------------------------------------------------------------------


@pytest.mark.parametrize("slug", ["slug\t", " slug", "slug ", "slug\n", "sl\x00ug", "sl\x1bug", "\u3000slug", ""])
def test_slugs_with_edge_whitespace_or_control_characters_are_rejected(auth_client, slug):
    response = auth_client.post("/api/v1/endpoints", {"id": slug, "url": "http://127.0.0.1:9/x"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"].startswith("Invalid request body: id: ")
    assert not Endpoint.objects.exists()


def test_inner_spaces_and_unicode_are_fine_in_a_slug():
    from endpoints.api.serializers import EndpointRegisterInput

    data = EndpointRegisterInput(data={"id": "my endpoint é", "url": "http://127.0.0.1:9/x"})
    assert data.is_valid(), data.errors


@pytest.mark.parametrize("force", [0, 1, "yes", "true", None])
def test_force_is_a_strict_boolean(auth_client, dev_environment, force):
    factories.EndpointFactory(environment=dev_environment, slug="e")
    response = auth_client.post("/api/v1/endpoints/e/index", {"force": force}, format="json")
    assert response.status_code == 400
    assert not EndpointIndex.objects.exists()


def test_credentials_in_the_url_are_refused(auth_client):
    response = auth_client.post(
        "/api/v1/endpoints", {"id": "a", "url": "https://me:secret@example.com/api/trigger"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": "Invalid request body: url: Endpoint URLs must not contain credentials (user:password@)"
    }


# -- throttles --------------------------------------------------------------------------------------


def test_registrations_are_limited_per_environment(auth_client, settings, sdk_basic):
    settings.KONGFLOW_THROTTLE_REGISTER = "2/min"
    body = {"id": "my-endpoint", "url": sdk_basic.url}
    assert [auth_client.post("/api/v1/endpoints", body, format="json").status_code for _ in range(2)] == [200, 200]
    limited = auth_client.post("/api/v1/endpoints/validate", {"url": sdk_basic.url}, format="json")
    assert limited.status_code == 429
    assert limited.json()["error"].startswith("Too many requests: try again in ")
    assert 0 < int(limited["Retry-After"]) <= 60
    other = APIClient()  # another environment has its own budget
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {factories.RuntimeEnvironmentFactory().api_key}")
    response = other.post("/api/v1/endpoints", body, format="json")
    assert response.status_code == 400  # not throttled: the PING fails (another key), which is fine


def test_index_requests_are_limited_per_environment(auth_client, settings, dev_environment):
    settings.KONGFLOW_THROTTLE_INDEX = "1/min"
    settings.KONGFLOW_INDEX_API_WAIT_SECONDS = 0
    factories.EndpointFactory(environment=dev_environment, slug="e", url="http://127.0.0.1:9/x")
    assert auth_client.post("/api/v1/endpoints/e/index", {}, format="json").status_code in (200, 202)
    limited = auth_client.post("/api/v1/endpoints/e/index", {}, format="json")
    assert limited.status_code == 429 and limited["Retry-After"]
    assert EndpointIndex.objects.count() == 1


def test_deploy_hooks_are_limited_per_client_address(client, settings, dev_environment):
    settings.KONGFLOW_THROTTLE_HOOK = "3/min"
    endpoint = factories.EndpointFactory(environment=dev_environment, slug="e")
    path = f"/api/v1/endpoints/{dev_environment.id}/e/index/{endpoint.indexing_hook_identifier}"
    assert [client.post(path).status_code for _ in range(3)] == [200, 200, 200]
    limited = client.post(path)
    assert limited.status_code == 429 and limited.json()["error"].startswith("Too many requests")
    # X-Forwarded-For is not trusted (KONGFLOW_NUM_PROXIES=0): a client cannot pick a fresh identity.
    assert client.post(path, HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 429
    assert client.post(path, REMOTE_ADDR="127.0.0.2").status_code == 200


def test_empty_rates_turn_limits_off(auth_client, settings, sdk_basic):
    settings.KONGFLOW_THROTTLE_REGISTER = ""
    body = {"id": "my-endpoint", "url": sdk_basic.url}
    assert {auth_client.post("/api/v1/endpoints", body, format="json").status_code for _ in range(4)} == {200}


# -- /metrics ---------------------------------------------------------------------------------------


def test_metrics_need_the_token_when_one_is_set(client, settings, db):
    settings.KONGFLOW_METRICS_TOKEN = "s3cret-metrics"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-metrics")
    assert response.status_code == 200 and b"django_http_requests" in response.content


def test_the_worker_metrics_app_checks_the_same_token():
    from kongflow.metrics_auth import protected_wsgi_app

    def inner(environ, start_response):
        start_response("200 OK", [])
        return [b"metrics"]

    statuses: list[str] = []
    app = protected_wsgi_app(inner, "tok")
    assert app({}, lambda status, headers: statuses.append(status)) != [b"metrics"]
    assert app({"HTTP_AUTHORIZATION": "Bearer tok"}, lambda status, headers: statuses.append(status)) == [b"metrics"]
    assert statuses == ["401 Unauthorized", "200 OK"]


# -- a real server: chunked bodies ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_chunked_bodies_are_read_and_bounded_behind_gunicorn(dev_environment, sdk_basic):
    def chunks(payload: bytes):
        for start in range(0, len(payload), 7):
            yield payload[start : start + 7]

    body = f'{{"id": "my-endpoint", "url": "{sdk_basic.url}"}}'.encode()
    headers = {"Authorization": f"Bearer {DEV_KEY}", "Content-Type": "application/json"}
    with WebProcess() as web:
        response = requests.post(f"{web.url}/api/v1/endpoints", data=chunks(body), headers=headers, timeout=60)
        assert response.status_code == 200, response.text
        assert response.json()["slug"] == "my-endpoint"
        huge = requests.post(
            f"{web.url}/api/v1/endpoints", data=chunks(b" " * 3_000_000), headers=headers, timeout=60
        )
        assert huge.status_code == 413
        assert huge.json() == {"error": "Request body is too large"}
        missing = requests.get(f"{web.url}/api/missing", timeout=10)
        assert (missing.status_code, missing.json()) == (404, {"error": "Not found"})


def test_an_overlong_version_header_is_cut_to_the_column_not_a_server_error(auth_client):
    from tests.support.misbehaving import MisbehavingEndpoint

    with MisbehavingEndpoint() as server:
        url = server.route("/api/trigger", lambda h: h.json(200, {"ok": True}, headers={"trigger-version": "9" * 80}))
        response = auth_client.post("/api/v1/endpoints", {"id": "e", "url": url}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["version"] == "9" * 50
