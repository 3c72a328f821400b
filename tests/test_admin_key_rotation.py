"""Rotating a key from the admin: a confirmation page, the new key shown once, the grace state and
the endpoints still on the previous key on the environment page."""

import re

import pytest
from django.contrib.auth import get_user_model

from endpoints.models import RuntimeEnvironment
from tests.conftest import DEV_KEY


@pytest.fixture
def admin_client(client, db):
    user = get_user_model().objects.create_superuser("ops", "ops@example.com", "pw")
    client.force_login(user)
    return client


def _confirm(client, environment, **kwargs):
    """Submit the confirmation form as the page renders it (with the key it rotates)."""
    return client.post(
        f"/admin/endpoints/runtimeenvironment/{environment.id}/rotate-key/",
        {"rotating": environment.api_key_hash},
        **kwargs,
    )


def _env_page(admin_client, environment) -> str:
    return admin_client.get(f"/admin/endpoints/runtimeenvironment/{environment.id}/change/").content.decode()


def test_the_action_asks_for_confirmation_before_rotating(admin_client, dev_environment):
    response = admin_client.post(
        "/admin/endpoints/runtimeenvironment/",
        {"action": "rotate_api_key", "_selected_action": [dev_environment.id]},
    )
    assert response.status_code == 302
    assert response["Location"] == f"/admin/endpoints/runtimeenvironment/{dev_environment.id}/rotate-key/"
    page = admin_client.get(response["Location"]).content.decode()
    assert "Yes, rotate the key" in page and "24 hour(s)" in page
    assert DEV_KEY not in page
    dev_environment.refresh_from_db()
    assert dev_environment.api_key == DEV_KEY  # nothing happened yet


def test_the_action_takes_one_environment_at_a_time(admin_client, dev_environment, prod_environment):
    response = admin_client.post(
        "/admin/endpoints/runtimeenvironment/",
        {"action": "rotate_api_key", "_selected_action": [dev_environment.id, prod_environment.id]},
        follow=True,
    )
    assert "Select exactly one environment" in response.content.decode()
    assert RuntimeEnvironment.objects.get(id=dev_environment.id).api_key == DEV_KEY


def test_confirming_rotates_shows_the_key_once_and_the_grace(admin_client, dev_environment, sdk_basic, api_client):
    response = _confirm(admin_client, dev_environment)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    dev_environment.refresh_from_db()
    new_key = dev_environment.api_key
    assert new_key != DEV_KEY
    assert re.search(rf'<code id="kf-new-key"[^>]*>{new_key}</code>', page)
    assert "keeps working until" in page

    # an endpoint still deployed with the old key registers through the fallback
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {new_key}")
    assert (
        api_client.post("/api/v1/endpoints", {"id": "my-endpoint", "url": sdk_basic.url}, format="json").status_code
        == 200
    )

    env_page = _env_page(admin_client, dev_environment)
    assert new_key not in env_page and DEV_KEY not in env_page  # masked from now on
    assert new_key[-4:] in env_page
    assert "Rotation grace:" in env_page and "still works until" in env_page
    listing = re.search(r'<ul id="kf-old-key-endpoints"[^>]*>(.*?)</ul>', env_page, re.S)
    assert listing and "my-endpoint" in listing.group(1)
    changelist = admin_client.get("/admin/endpoints/runtimeenvironment/").content.decode()
    assert "works until" in changelist


def test_ending_the_grace_from_the_admin(admin_client, dev_environment, api_client):
    _confirm(admin_client, dev_environment)
    assert 'id="kf-end-grace"' in _env_page(admin_client, dev_environment)
    confirm = admin_client.get(f"/admin/endpoints/runtimeenvironment/{dev_environment.id}/end-grace/")
    assert "Yes, revoke the previous key" in confirm.content.decode()
    response = admin_client.post(f"/admin/endpoints/runtimeenvironment/{dev_environment.id}/end-grace/", follow=True)
    assert "The previous API key no longer works." in response.content.decode()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {DEV_KEY}")
    assert api_client.get("/api/v1/whoami").status_code == 401
    page = _env_page(admin_client, dev_environment)
    assert "no longer works" in page and 'id="kf-end-grace"' not in page


def test_rotation_needs_the_change_permission(client, dev_environment):
    user = get_user_model().objects.create_user("viewer", password="pw", is_staff=True)
    client.force_login(user)
    response = _confirm(client, dev_environment)
    assert response.status_code == 403
    assert RuntimeEnvironment.objects.get(id=dev_environment.id).api_key == DEV_KEY


def test_the_list_counts_endpoints_on_the_old_key_in_constant_queries(
    admin_client, dev_environment, django_assert_max_num_queries
):
    from endpoints.models.tenancy import hash_key
    from endpoints.services.environments import environment_api_key_rotate
    from tests import factories

    environment_api_key_rotate(environment_id=dev_environment.id)
    for _ in range(3):
        factories.EndpointFactory(environment=dev_environment, answered_key_hash=hash_key(DEV_KEY))
    factories.EndpointFactory(environment=dev_environment, answered_key_hash=hash_key(DEV_KEY), url=None)
    for _ in range(5):
        factories.RuntimeEnvironmentFactory()
    with django_assert_max_num_queries(12):
        page = admin_client.get("/admin/endpoints/runtimeenvironment/").content.decode()
    assert '<strong class="kf-old-key-count">3</strong>' in page


def test_a_resubmitted_confirmation_does_not_rotate_twice(admin_client, dev_environment, api_client):
    page = admin_client.get(f"/admin/endpoints/runtimeenvironment/{dev_environment.id}/rotate-key/").content.decode()
    assert f'name="rotating" value="{dev_environment.api_key_hash}"' in page
    first = _confirm(admin_client, dev_environment)
    new_key = RuntimeEnvironment.objects.get(id=dev_environment.id).api_key
    assert new_key in first.content.decode()
    again = _confirm(admin_client, dev_environment, follow=True)  # the browser's "resend the form"
    assert "rotated in the meantime" in again.content.decode()
    assert new_key not in again.content.decode()
    assert RuntimeEnvironment.objects.get(id=dev_environment.id).api_key == new_key
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {DEV_KEY}")
    assert api_client.get("/api/v1/whoami").status_code == 200  # the original key's grace goes on


def test_check_endpoints_now_queues_the_pings(admin_client, dev_environment, django_capture_on_commit_callbacks):
    from tests import factories

    factories.EndpointFactory.create_batch(2, environment=dev_environment)
    _confirm(admin_client, dev_environment)
    assert 'id="kf-check-keys"' in _env_page(admin_client, dev_environment)
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(
            f"/admin/endpoints/runtimeenvironment/{dev_environment.id}/check-keys/", follow=True
        )
    assert "Pinging 2 endpoint(s)" in response.content.decode()
    assert len(callbacks) == 2
