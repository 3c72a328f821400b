"""The deploy hook: unauthenticated, identifier compared in constant time, runs a few seconds later."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from endpoints.models import EndpointIndex
from endpoints.services.hooks import hook_reason

GITHUB_META = {
    "githubCommitAuthorName": "Ada",
    "githubCommitMessage": "Fix the thing",
    "githubCommitOrg": "acme",
    "githubCommitRef": "main",
    "githubCommitRepo": "web",
    "githubCommitSha": "0123456789abcdef",
    "githubDeployment": "1",
    "githubOrg": "acme",
    "githubRepo": "web",
    "githubRepoOwnerType": "Organization",
    "githubCommitRepoId": "1",
    "githubRepoId": "1",
    "githubRepoVisibility": "private",
    "githubCommitAuthorLogin": "ada",
    "branchAlias": "web-git-main.vercel.app",
}


def vercel(event_type="deployment.succeeded", meta=None):
    return {
        "id": "evt_1",
        "createdAt": 1700000000000,
        "type": event_type,
        "payload": {
            "user": {"id": "u"},
            "team": {"id": "t"},
            "project": {"id": "p"},
            "deployment": {
                "id": "d",
                "meta": meta or {},
                "name": "acme-web",
                "url": "acme-web-abc.vercel.app",
                "inspectorUrl": "https://vercel.com/i",
            },
            "links": {"deployment": "https://l/d", "project": "https://l/p"},
            "name": "acme-web",
            "plan": "pro",
            "regions": ["iad1"],
            "target": "production",
            "type": "LAMBDAS",
            "url": "acme-web-abc.vercel.app",
        },
    }


def hook_url(endpoint, identifier=None):
    identifier = identifier or endpoint.indexing_hook_identifier
    return f"/api/v1/endpoints/{endpoint.environment_id}/{endpoint.slug}/index/{identifier}"


@pytest.mark.parametrize("method", ["get", "post"])
def test_hook_requests_a_delayed_hook_index(api_client, endpoint, method, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = getattr(api_client, method)(hook_url(endpoint))
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    index = EndpointIndex.objects.get()
    assert index.source == "HOOK" and index.status == "PENDING"
    assert index.run_at - index.created_at >= timedelta(seconds=4.9)
    assert index.max_attempts == 1  # DEVELOPMENT
    assert len(callbacks) == 1


def test_hook_stores_a_lenient_body_and_derives_the_vercel_reason(api_client, endpoint):
    response = api_client.post(hook_url(endpoint), json.dumps(vercel(meta=GITHUB_META)), content_type="text/plain")
    assert response.status_code == 200
    index = EndpointIndex.objects.get()
    assert index.reason == '"Fix the thing" was deployed from main (0123456) to acme-web'
    assert index.source_data["type"] == "deployment.succeeded"


def test_hook_with_invalid_json_still_indexes(api_client, endpoint):
    assert api_client.post(hook_url(endpoint), "{nope", content_type="application/json").status_code == 200
    index = EndpointIndex.objects.get()
    assert index.source_data is None and index.reason is None


def test_unknown_endpoint_is_404_and_wrong_identifier_403(api_client, endpoint):
    missing = api_client.get(f"/api/v1/endpoints/{endpoint.environment_id}/nope/index/abc")
    assert missing.status_code == 404 and missing.json() == {"error": "Endpoint not found"}
    wrong = api_client.get(hook_url(endpoint, "0000000000"))
    assert wrong.status_code == 403 and wrong.json() == {"error": "Index hook identifier is invalid"}
    assert not EndpointIndex.objects.exists()


def test_many_hook_calls_coalesce_into_one_pending_run(api_client, endpoint):
    for _ in range(10):
        assert api_client.post(hook_url(endpoint)).status_code == 200
    index = EndpointIndex.objects.get()
    assert index.requests == 10


def test_a_hook_joining_a_pending_run_costs_one_statement(api_client, endpoint):
    """The join checks the identifier itself: a storm of hooks costs one statement per request."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    assert api_client.post(hook_url(endpoint)).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert api_client.post(hook_url(endpoint)).status_code == 200
    statements = [q["sql"] for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]
    assert len(statements) == 1, statements
    index = EndpointIndex.objects.get()
    assert index.requests == 2 and [entry["source"] for entry in index.coalesced] == ["HOOK", "HOOK"]


@pytest.mark.parametrize("without_identifier", [False, True])
def test_a_pending_run_is_not_joined_by_a_wrong_identifier(api_client, endpoint, without_identifier):
    assert api_client.post(hook_url(endpoint)).status_code == 200
    if without_identifier:  # an endpoint without a hook identifier accepts none
        type(endpoint).objects.filter(id=endpoint.id).update(indexing_hook_identifier=None)
    response = api_client.post(hook_url(endpoint, endpoint.indexing_hook_identifier[::-1]))
    assert response.status_code == 403 and response.json() == {"error": "Index hook identifier is invalid"}
    assert EndpointIndex.objects.get().requests == 1


def test_a_hook_joining_a_run_in_backoff_restarts_it(api_client, prod_environment, django_capture_on_commit_callbacks):
    """Not the one-statement join: the full path restarts it with the environment's attempt budget."""
    from tests.factories import EndpointFactory

    endpoint = EndpointFactory(environment=prod_environment, indexing_hook_identifier="hookbackof")
    run = EndpointIndex.objects.create(
        endpoint=endpoint, source="API", attempts=1, max_attempts=3, run_at=timezone.now() + timedelta(hours=1)
    )
    with django_capture_on_commit_callbacks() as callbacks:
        assert api_client.post(hook_url(endpoint)).status_code == 200
    run.refresh_from_db()
    assert run.requests == 2 and run.run_at < timezone.now() + timedelta(minutes=1)
    assert run.max_attempts > 3 and len(callbacks) == 1


def test_a_hook_for_a_soft_deleted_endpoint_is_still_accepted(api_client, endpoint):
    """As in the original: the run it requests fails with ENDPOINT_DELETED when it runs."""
    type(endpoint).objects.filter(id=endpoint.id).update(url=None)
    assert api_client.post(hook_url(endpoint)).status_code == 200
    assert EndpointIndex.objects.get().endpoint_id == endpoint.id


def test_production_hooks_get_the_default_attempts(api_client, prod_environment):
    from tests.factories import EndpointFactory

    endpoint = EndpointFactory(environment=prod_environment)
    api_client.get(hook_url(endpoint))
    assert EndpointIndex.objects.get().max_attempts == 7


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (vercel(), "Vercel project acme-web was deployed to acme-web-abc.vercel.app"),
        (vercel("deployment.created"), None),
        ({"type": "deployment.succeeded"}, None),
        (None, None),
        ([1, 2], None),
    ],
)
def test_reason_derivation(body, reason):
    assert hook_reason(body) == reason


def test_hook_run_at_is_in_the_future(api_client, endpoint):
    api_client.get(hook_url(endpoint))
    assert EndpointIndex.objects.get().run_at > timezone.now()


def test_a_hook_body_that_cannot_be_stored_is_dropped_not_a_500(api_client, endpoint):
    response = api_client.post(hook_url(endpoint), '{"a": "b\\u0000c"}', content_type="application/json")
    assert response.status_code == 200
    assert EndpointIndex.objects.get().source_data is None


def test_an_oversized_hook_body_is_413(api_client, endpoint):
    response = api_client.post(hook_url(endpoint), "x" * 3_000_000, content_type="text/plain")
    assert response.status_code == 413
    assert not EndpointIndex.objects.exists()


def test_a_hook_body_with_an_unpaired_surrogate_is_dropped_not_a_500(api_client, endpoint):
    response = api_client.post(hook_url(endpoint), '{"a": "b\\udc00c"}', content_type="application/json")
    assert response.status_code == 200
    assert EndpointIndex.objects.get().source_data is None
