"""The operators' admin: pages render, keys are masked, history is read-only, Reindex calls the service."""

import pytest
from django.contrib.auth import get_user_model

from endpoints.models import EndpointIndex, IndexStatus
from tests import factories


@pytest.fixture
def admin_client(client, db):
    user = get_user_model().objects.create_superuser("ops", "ops@example.com", "pw")
    client.force_login(user)
    return client


def test_changelists_and_detail_pages_render(admin_client, endpoint):
    factories.EndpointIndexFactory(endpoint=endpoint, status=IndexStatus.SUCCESS, stats={"jobs": 1})
    for path in (
        "/admin/endpoints/endpoint/",
        f"/admin/endpoints/endpoint/{endpoint.id}/change/",
        "/admin/endpoints/endpointindex/",
        "/admin/endpoints/runtimeenvironment/",
        f"/admin/endpoints/runtimeenvironment/{endpoint.environment_id}/change/",
        "/admin/endpoints/job/",
        "/admin/endpoints/jobversion/",
    ):
        assert admin_client.get(path).status_code == 200, path


def test_the_endpoint_page_shows_the_deploy_hook_url_and_never_the_secret_key(admin_client, endpoint):
    page = admin_client.get(f"/admin/endpoints/endpoint/{endpoint.id}/change/").content.decode()
    assert (
        f"/api/v1/endpoints/{endpoint.environment_id}/{endpoint.slug}/index/{endpoint.indexing_hook_identifier}" in page
    )
    environment_page = admin_client.get(
        f"/admin/endpoints/runtimeenvironment/{endpoint.environment_id}/change/"
    ).content.decode()
    assert endpoint.environment.api_key not in environment_page
    assert endpoint.environment.api_key[-4:] in environment_page


def test_index_history_is_read_only(admin_client, endpoint):
    index = factories.EndpointIndexFactory(endpoint=endpoint)
    assert admin_client.get(f"/admin/endpoints/endpointindex/{index.id}/delete/").status_code == 403
    assert (
        admin_client.post(f"/admin/endpoints/endpointindex/{index.id}/change/", {"status": "SUCCESS"}).status_code
        == 403
    )
    index.refresh_from_db()
    assert index.status == IndexStatus.PENDING


def test_reindex_action_requests_a_manual_run(admin_client, endpoint):
    response = admin_client.post(
        "/admin/endpoints/endpoint/", {"action": "reindex", "_selected_action": [endpoint.id]}, follow=True
    )
    assert response.status_code == 200
    index = EndpointIndex.objects.get()
    assert index.source == "MANUAL" and index.reason == "Reindexed by ops"
    assert "Requested an index of 1 endpoint(s)." in response.content.decode()


def test_endpoints_are_soft_deleted_not_removed(admin_client, endpoint):
    assert admin_client.get(f"/admin/endpoints/endpoint/{endpoint.id}/delete/").status_code == 403
    factories.EndpointIndexFactory(endpoint=endpoint, status=IndexStatus.SUCCESS)
    response = admin_client.post(
        "/admin/endpoints/endpoint/", {"action": "soft_delete", "_selected_action": [endpoint.id]}, follow=True
    )
    assert "Deleted 1 endpoint(s)" in response.content.decode()
    endpoint.refresh_from_db()
    assert endpoint.url is None
    assert EndpointIndex.objects.filter(endpoint=endpoint).count() == 1  # history stays
