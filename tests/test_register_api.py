"""POST /api/v1/endpoints against a real SDK endpoint: ping, upsert, index queued after commit."""

import re

import pytest

from endpoints.models import Endpoint, EndpointIndex
from tests.conftest import DEV_KEY

ENDPOINT_KEYS = {
    "id",
    "slug",
    "url",
    "indexingHookIdentifier",
    "version",
    "sdkVersion",
    "environmentId",
    "organizationId",
    "projectId",
    "createdAt",
    "updatedAt",
    "endpointIndex",
    "runChunkExecutionLimit",
    "startTaskThreshold",
    "beforeExecuteTaskThreshold",
    "beforeCompleteTaskThreshold",
    "afterCompleteTaskThreshold",
    "health",
}


def register(client, url, slug="my-endpoint"):
    return client.post("/api/v1/endpoints", {"id": slug, "url": url}, format="json")


def test_register_upserts_and_queues_an_index_after_commit(
    auth_client, dev_environment, sdk_basic, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = register(auth_client, sdk_basic.url)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == ENDPOINT_KEYS
    endpoint = Endpoint.objects.get()
    assert body["id"] == endpoint.id
    assert body["slug"] == "my-endpoint"
    assert body["url"] == sdk_basic.url
    assert body["version"] == "2023-09-29" and body["sdkVersion"] == "2.3.19"
    assert re.fullmatch(r"[0-9a-vx-z]{10}", body["indexingHookIdentifier"])
    assert body["environmentId"] == dev_environment.id
    assert body["createdAt"].endswith("Z")
    index = EndpointIndex.objects.get()
    assert body["endpointIndex"]["id"] == index.id
    assert body["endpointIndex"]["status"] == "PENDING"
    assert body["endpointIndex"]["source"] == "INTERNAL"
    assert index.max_attempts == 1  # DEVELOPMENT: one attempt
    assert len(callbacks) == 1  # the dispatch, only after commit
    assert DEV_KEY not in response.content.decode()


def test_reregistering_updates_the_url_and_keeps_the_hook_identifier(auth_client, sdk_basic):
    first = register(auth_client, sdk_basic.url).json()
    other_url = sdk_basic.url.replace("127.0.0.1", "localhost")
    second = register(auth_client, other_url).json()
    assert second["id"] == first["id"]
    assert second["url"] == other_url
    assert second["indexingHookIdentifier"] == first["indexingHookIdentifier"]
    assert Endpoint.objects.count() == 1


def test_a_second_registration_joins_the_pending_index(auth_client, sdk_basic):
    first = register(auth_client, sdk_basic.url).json()
    second = register(auth_client, sdk_basic.url).json()
    assert second["endpointIndex"]["id"] == first["endpointIndex"]["id"]
    index = EndpointIndex.objects.get()
    assert index.requests == 2
    assert [entry["source"] for entry in index.coalesced] == ["INTERNAL", "INTERNAL"]


@pytest.mark.parametrize(
    ("slug", "key", "message"),
    [
        ("other-endpoint", None, "Endpoint ID mismatch error. Expected my-endpoint, got other-endpoint"),
        (
            "my-endpoint",
            "tr_dev_someOtherKey99",
            "Forbidden: client apiKey mismatch: Make sure you are using the correct API Key for your environment",
        ),
    ],
)
def test_failed_ping_gives_the_sdk_message_and_writes_nothing(api_client, db, sdk_basic, slug, key, message):
    from tests.factories import RuntimeEnvironmentFactory

    environment = RuntimeEnvironmentFactory(api_key=key or DEV_KEY)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {environment.api_key}")
    response = register(api_client, sdk_basic.url, slug=slug)
    assert response.status_code == 400
    assert response.json() == {"error": message}
    assert not Endpoint.objects.exists() and not EndpointIndex.objects.exists()


def test_unreachable_url_is_the_retryable_v2_error(auth_client):
    url = "http://127.0.0.1:9/api/trigger"  # discard port: nothing listens
    response = register(auth_client, url)
    assert response.status_code == 400
    assert response.json()["error"].startswith(f"Could not connect to endpoint {url}")
    assert not Endpoint.objects.exists()


def test_url_that_is_not_the_handler_is_a_parse_error(auth_client, sdk_basic):
    url = sdk_basic.url.replace("/api/trigger", "/api/other")
    response = register(auth_client, url)
    assert response.status_code == 400
    assert response.json() == {"error": f"Could not connect to endpoint {url}. Status code: 404"}


@pytest.mark.parametrize(
    "body",
    [
        {"url": "http://127.0.0.1:1/x"},
        {"id": "a"},
        {"id": "a", "url": "not a url"},
        {"id": 5, "url": "http://a.b/c"},
        {},
        [1, 2],
    ],
)
def test_invalid_body_is_400_and_writes_nothing(auth_client, body):
    response = auth_client.post("/api/v1/endpoints", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"].startswith("Invalid request body: ")
    assert not Endpoint.objects.exists()


def test_invalid_url_message(auth_client):
    response = auth_client.post("/api/v1/endpoints", {"id": "a", "url": "nope"}, format="json")
    assert response.json() == {"error": "Invalid request body: url: Invalid url"}


def test_malformed_json_is_400(auth_client):
    response = auth_client.post("/api/v1/endpoints", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"].startswith("Invalid request body")


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_other_methods_are_405(auth_client, method):
    response = getattr(auth_client, method)("/api/v1/endpoints")
    assert response.status_code == 405
    assert response.json() == {"error": "Method not allowed"}


def test_register_needs_a_key(api_client, db):
    response = api_client.post("/api/v1/endpoints", {"id": "a", "url": "http://127.0.0.1:9/"}, format="json")
    assert response.status_code == 401


@pytest.mark.parametrize(
    "url",
    ["ftp://127.0.0.1/x", "http://", "127.0.0.1:3000/api/trigger", "http://a b/", "http://host:99999/x", "mailto:a@b"],
)
def test_urls_that_are_not_http_endpoints_are_invalid(auth_client, url):
    response = auth_client.post("/api/v1/endpoints", {"id": "a", "url": url}, format="json")
    assert response.json() == {"error": "Invalid request body: url: Invalid url"}


@pytest.mark.parametrize(
    "url", ["http://web:3000/api/trigger", "http://[::1]:9/api/trigger", "https://app.example.com"]
)
def test_urls_without_a_tld_or_with_ipv6_are_accepted(url):
    from endpoints.api.serializers import EndpointRegisterInput

    data = EndpointRegisterInput(data={"id": "a", "url": url})
    assert data.is_valid(), data.errors
    assert data.validated_data["url"] == url


def test_a_url_that_redirects_to_another_origin_is_not_registered_and_the_key_stays_home(auth_client, sdk_basic):
    from tests.support.misbehaving import MisbehavingEndpoint

    with MisbehavingEndpoint() as old_host:
        url = old_host.route("/api/trigger", lambda h: h._send(308, b"", headers={"Location": sdk_basic.url}))
        response = register(auth_client, url)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error.startswith(f"Endpoint {url} is redirecting to {sdk_basic.url}, another origin")
    assert "register that URL instead" in error
    assert not Endpoint.objects.exists()


def test_registering_a_soft_deleted_endpoint_brings_it_back(auth_client, sdk_basic):
    from endpoints.services.registration import endpoints_soft_delete

    first = register(auth_client, sdk_basic.url).json()
    assert endpoints_soft_delete(endpoint_ids=[first["id"]]) == 1
    again = register(auth_client, sdk_basic.url).json()
    assert again["id"] == first["id"] and again["url"] == sdk_basic.url
    assert again["indexingHookIdentifier"] == first["indexingHookIdentifier"]


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (
            '{"id": "a", "url": "http://127.0.0.1:9/x", "pad": "' + "x" * 3_000_000 + '"}',
            413,
            "Request body is too large",
        ),
        ("[" * 100_000 + "]" * 100_000, 400, "Invalid request body: JSON parse error - nested too deeply"),
    ],
)
def test_oversized_or_too_deep_bodies_are_client_errors(auth_client, body, status, error):
    response = auth_client.post("/api/v1/endpoints", body, content_type="application/json")
    assert response.status_code == status
    assert response.json() == {"error": error}
    assert not Endpoint.objects.exists()
