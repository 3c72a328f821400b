"""Probing an endpoint's time limit (§5.8) and registering from a URL alone with VALIDATE (§5.3)."""

import time

import pytest

from endpoints.models import Endpoint, EndpointIndex
from endpoints.services.probing import endpoint_probe
from tests import factories
from tests.support.misbehaving import MisbehavingEndpoint


@pytest.fixture
def platform():
    with MisbehavingEndpoint() as server:
        yield server


def slow(status, body=b"", headers=None, delay=0.2):
    def respond(handler):
        time.sleep(delay)  # the simulated platform's own time limit, not test synchronisation
        handler._send(status, body, "text/plain", headers=headers)

    return respond


@pytest.mark.parametrize(
    ("status", "body", "headers"),
    [
        (504, b"An error occurred", None),  # Vercel
        (200, b'{"ok": true}', None),  # the SDK answered (a short probe)
        (502, b"TIME_LIMIT exceeded", None),  # Deno Deploy
        (503, b"Error: Worker exceeded resource limits", {"cf-ray": "abc"}),  # Cloudflare
    ],
)
def test_a_platform_timeout_sets_the_chunk_limit_clamped_to_ten_seconds(platform, endpoint, status, body, headers):
    endpoint.url = platform.route("/probe", slow(status, body, headers))
    endpoint.save()
    assert endpoint_probe(endpoint_id=endpoint.id) == 10_000
    endpoint.refresh_from_db()
    assert endpoint.run_chunk_execution_limit == 10_000
    _, sent = platform.requests[-1]
    assert sent["x-trigger-action"] == "PROBE_EXECUTION_TIMEOUT"


def test_an_error_that_is_not_a_timeout_changes_nothing(platform, endpoint):
    endpoint.url = platform.route("/probe", slow(401, b'{"message": "no"}'))
    endpoint.save()
    assert endpoint_probe(endpoint_id=endpoint.id) is None
    endpoint.refresh_from_db()
    assert endpoint.run_chunk_execution_limit == 60_000


def test_a_deleted_endpoint_is_not_probed(platform, endpoint):
    Endpoint.objects.filter(id=endpoint.id).update(url=None)
    assert endpoint_probe(endpoint_id=endpoint.id) is None
    assert endpoint_probe(endpoint_id="missing") is None


def test_register_from_url_learns_the_slug_from_validate(auth_client, sdk_basic):
    response = auth_client.post("/api/v1/endpoints/validate", {"url": sdk_basic.url}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["slug"] == "my-endpoint"
    assert body["version"] == "2023-09-29"
    assert body["endpointIndex"]["status"] == "PENDING"
    assert Endpoint.objects.get().slug == "my-endpoint"


def test_register_from_url_with_the_wrong_key_writes_nothing(api_client, db, sdk_basic):
    environment = factories.RuntimeEnvironmentFactory(api_key="tr_dev_notTheFixtureKey")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {environment.api_key}")
    response = api_client.post("/api/v1/endpoints/validate", {"url": sdk_basic.url}, format="json")
    assert response.status_code == 400
    assert response.json()["error"].startswith("Forbidden: client apiKey mismatch")
    assert not Endpoint.objects.exists() and not EndpointIndex.objects.exists()
