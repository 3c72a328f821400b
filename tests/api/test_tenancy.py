"""Every route of the registry API, asked with another organization's key (or none): a 404 or
401 in the API's error shape, never a byte of the owner's data, and nothing changed."""

import json

import pytest

from endpoints.models import Endpoint, EndpointIndex, JobVersion
from endpoints.services.lifecycle import endpoint_soft_delete
from tests import factories

pytestmark = pytest.mark.django_db

ROUTES = [
    ("get", "/api/v1/endpoints/my-endpoint"),
    ("delete", "/api/v1/endpoints/my-endpoint"),
    ("get", "/api/v1/endpoints/my-endpoint/indexes"),
    ("get", "/api/v1/endpoints/my-endpoint/jobs"),
    ("get", "/api/v1/endpoints/my-endpoint/sources"),
    ("get", "/api/v1/endpoints/my-endpoint/triggers"),
    ("get", "/api/v1/endpoints/my-endpoint/schedules"),
    ("post", "/api/v1/endpoints/my-endpoint/plan"),
]


def leaks(body, endpoint):
    """Any identifying value of the owner's endpoint or registry in a response body."""
    text = json.dumps(body)
    secrets = [endpoint.id, endpoint.url, endpoint.indexing_hook_identifier, "order-placed", "acme"]
    return [value for value in secrets if value and value in text]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_another_organizations_key_sees_404(stranger, full_endpoint, method, path):
    before = (list(Endpoint.objects.values()), EndpointIndex.objects.count(), JobVersion.objects.count())
    response = getattr(stranger, method)(path)
    assert response.status_code == 404
    assert response.json() == {"error": "Endpoint not found"}
    assert (list(Endpoint.objects.values()), EndpointIndex.objects.count(), JobVersion.objects.count()) == before


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_another_organizations_key_sees_404_for_a_deleted_endpoint_too(stranger, full_endpoint, method, path):
    endpoint_soft_delete(endpoint=full_endpoint)
    response = getattr(stranger, method)(path)
    assert response.status_code == 404 and not leaks(response.json(), full_endpoint)


def test_another_organizations_list_is_empty_whatever_the_filter(stranger, full_endpoint):
    for query in ("", "?health=HEALTHY", "?health=DELETED"):
        body = stranger.get(f"/api/v1/endpoints{query}").json()
        assert body == {"next": None, "previous": None, "results": []}


def test_another_organizations_key_cannot_follow_the_owners_cursor(owner, stranger, full_endpoint, dev_environment):
    for i in range(3):
        factories.EndpointFactory(environment=dev_environment, slug=f"other-{i}")
    next_url = owner.get("/api/v1/endpoints?limit=1").json()["next"]
    body = stranger.get(next_url).json()
    assert body["results"] == [] and not leaks(body, full_endpoint)


def test_the_owners_run_is_404_to_another_organization(stranger, full_endpoint):
    run = full_endpoint.indexings.get()
    response = stranger.get(f"/api/v1/endpointindex/{run.id}")
    assert response.status_code == 404 and response.json() == {"error": "EndpointIndex not found"}


@pytest.mark.parametrize(("method", "path"), [*ROUTES, ("get", "/api/v1/endpoints")])
def test_no_key_is_401(api_client, full_endpoint, method, path):
    response = getattr(api_client, method)(path)
    assert response.status_code == 401
    assert response.json() == {"error": "Invalid or Missing API key"}
