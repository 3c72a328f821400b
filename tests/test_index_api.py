"""POST /api/v1/endpoints/<slug>/index and GET /api/v1/endpointindex/<id> (no worker here)."""

import pytest

from endpoints.models import EndpointIndex, IndexStatus
from tests import factories


@pytest.fixture
def my_endpoint(dev_environment):
    return factories.EndpointFactory(environment=dev_environment, slug="my-endpoint")


def test_index_request_answers_202_with_the_pending_run_when_the_wait_runs_out(auth_client, my_endpoint, settings):
    settings.KONGFLOW_INDEX_API_WAIT_SECONDS = 0
    response = auth_client.post(
        "/api/v1/endpoints/my-endpoint/index", {"reason": "CI deploy", "data": {"sha": "abc"}}, format="json"
    )
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "PENDING" and body["source"] == "API"
    assert body["reason"] == "CI deploy" and body["sourceData"] == {"sha": "abc"}
    assert "data" not in body
    index = EndpointIndex.objects.get()
    assert body["id"] == index.id


@pytest.mark.parametrize("body", [{"reason": 5}, {"force": "maybe"}, [1]])
def test_index_request_with_an_invalid_body_is_400(auth_client, my_endpoint, body):
    response = auth_client.post("/api/v1/endpoints/my-endpoint/index", body, format="json")
    assert response.status_code == 400
    assert response.json() == {"error": "Invalid request body: Invalid body"}
    assert not EndpointIndex.objects.exists()


def test_index_request_for_an_unknown_endpoint_is_404(auth_client, db):
    response = auth_client.post("/api/v1/endpoints/nope/index", {}, format="json")
    assert response.status_code == 404
    assert response.json() == {"error": "Endpoint not found"}


def test_index_request_cannot_reach_another_environments_endpoint(auth_client, db):
    factories.EndpointFactory(slug="theirs")
    assert auth_client.post("/api/v1/endpoints/theirs/index", {}, format="json").status_code == 404


STATS = {
    "jobs": 2,
    "sources": 0,
    "webhooks": 0,
    "dynamicTriggers": 0,
    "dynamicSchedules": 0,
    "disabledJobs": 1,
    "httpEndpoints": 0,
}


@pytest.mark.parametrize(
    ("status", "extra", "expected"),
    [
        (IndexStatus.PENDING, {}, {}),
        (IndexStatus.STARTED, {}, {}),
        (IndexStatus.SUCCESS, {"stats": STATS}, {"stats": STATS, "diff": None}),
        (
            IndexStatus.SUCCESS,
            {"stats": STATS, "diff": {"jobs": {"added": ["b"], "removed": ["a"], "changed": {"c": ["version"]}}}},
            {"stats": STATS, "diff": {"added": ["b"], "removed": ["a"], "changed": ["c"]}},
        ),
        (
            IndexStatus.FAILURE,
            {"error": {"code": "TIMEOUT", "message": "m", "hint": "h"}},
            {"error": {"code": "TIMEOUT", "message": "m", "hint": "h"}},
        ),
    ],
)
def test_poll_shape(auth_client, my_endpoint, status, extra, expected):
    index = factories.EndpointIndexFactory(endpoint=my_endpoint, status=status, **extra)
    response = auth_client.get(f"/api/v1/endpointindex/{index.id}")
    assert response.status_code == 200
    body = response.json()
    assert body.pop("updatedAt").endswith("Z")
    assert body == {"status": status, **expected}


def test_poll_is_scoped_to_the_keys_environment(auth_client, db):
    index = factories.EndpointIndexFactory()
    response = auth_client.get(f"/api/v1/endpointindex/{index.id}")
    assert response.status_code == 404
    assert response.json() == {"error": "EndpointIndex not found"}


def test_index_request_data_with_nul_characters_is_400(auth_client, my_endpoint):
    response = auth_client.post(
        "/api/v1/endpoints/my-endpoint/index", '{"data": {"a": "b\\u0000"}}', content_type="application/json"
    )
    assert response.status_code == 400
    assert not EndpointIndex.objects.exists()


def test_register_with_a_nul_in_the_slug_is_400(auth_client):
    response = auth_client.post(
        "/api/v1/endpoints", '{"id": "a\\u0000b", "url": "http://127.0.0.1:9/x"}', content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"].startswith("Invalid request body: id: ")


def test_index_request_data_with_an_unpaired_surrogate_is_400(auth_client, my_endpoint, settings):
    """JSON may escape half a UTF-16 pair (`\\ud800`); PostgreSQL cannot store it."""
    settings.KONGFLOW_INDEX_API_WAIT_SECONDS = 0  # no worker here: the 202 comes at once
    response = auth_client.post(
        "/api/v1/endpoints/my-endpoint/index", '{"data": {"a": "b\\ud800"}}', content_type="application/json"
    )
    assert response.status_code == 400
    assert "error" in response.json()
    assert not EndpointIndex.objects.exists()
    # A whole pair is an ordinary character.
    response = auth_client.post(
        "/api/v1/endpoints/my-endpoint/index", '{"data": {"a": "\\ud83d\\ude00"}}', content_type="application/json"
    )
    assert response.status_code == 202, response.json()
    assert EndpointIndex.objects.get().source_data == {"a": "\U0001f600"}


def test_register_with_an_unpaired_surrogate_is_400(auth_client):
    for body in ('{"id": "a\\udfffb", "url": "http://127.0.0.1:9/x"}', '{"id": "a", "url": "http://127.0.0.1:9/\\ud800"}'):
        response = auth_client.post("/api/v1/endpoints", body, content_type="application/json")
        assert response.status_code == 400, body
        assert "error" in response.json()
