"""Rotating an environment's API key: both keys work during the grace, calls to endpoints fall back
to the previous key when an endpoint still runs with it, and the environment knows which ones do."""

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from endpoints.models import Endpoint, EndpointIndex, IndexStatus, RuntimeEnvironment
from endpoints.models.tenancy import hash_key
from endpoints.selectors import environment_key_status
from endpoints.services.environments import (
    environment_api_key_rotate,
    environment_get_or_create,
    environment_previous_key_revoke,
)
from endpoints.services.indexing import endpoint_index_run
from kongflow.logging import JsonFormatter
from tests.conftest import DEV_KEY
from tests.support.sdk import start_endpoint

MISMATCH = "Forbidden: client apiKey mismatch"


def _whoami(api_client, key: str) -> int:
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return api_client.get("/api/v1/whoami").status_code


def _expire_grace(environment: RuntimeEnvironment) -> None:
    """As if the grace had run out (the clock moved on)."""
    RuntimeEnvironment.objects.filter(id=environment.id).update(
        previous_api_key_expires_at=timezone.now() - timedelta(seconds=1)
    )
    environment.refresh_from_db()


def _register(api_client, key: str, slug: str, url: str):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return api_client.post("/api/v1/endpoints", {"id": slug, "url": url}, format="json")


def test_rotation_mints_a_new_key_and_keeps_the_old_one_for_the_grace(dev_environment, settings):
    settings.KONGFLOW_KEY_ROTATION_GRACE = timedelta(hours=24)
    before = timezone.now()
    rotation = environment_api_key_rotate(environment_id=dev_environment.id)
    dev_environment.refresh_from_db()
    assert rotation.api_key == dev_environment.api_key != DEV_KEY
    assert rotation.api_key.startswith("tr_dev_")
    assert dev_environment.previous_api_key == DEV_KEY
    assert dev_environment.api_key_hash == hash_key(rotation.api_key)
    assert dev_environment.previous_api_key_hash == hash_key(DEV_KEY)
    expected = before + timedelta(hours=24)
    assert expected <= rotation.previous_key_expires_at <= timezone.now() + timedelta(hours=24)


def test_the_api_accepts_both_keys_during_the_grace_and_only_the_new_one_after(api_client, dev_environment):
    rotation = environment_api_key_rotate(environment_id=dev_environment.id, grace=timedelta(hours=1))
    assert _whoami(api_client, rotation.api_key) == 200
    assert _whoami(api_client, DEV_KEY) == 200
    _expire_grace(dev_environment)
    assert _whoami(api_client, rotation.api_key) == 200
    assert _whoami(api_client, DEV_KEY) == 401
    assert api_client.get("/api/v1/whoami").json() == {"error": "Invalid or Missing API key"}


def test_ending_the_grace_early_revokes_the_old_key(api_client, dev_environment):
    rotation = environment_api_key_rotate(environment_id=dev_environment.id)
    assert environment_previous_key_revoke(environment_id=dev_environment.id) is True
    assert _whoami(api_client, DEV_KEY) == 401
    assert _whoami(api_client, rotation.api_key) == 200
    assert environment_previous_key_revoke(environment_id=dev_environment.id) is False


def test_a_second_rotation_ends_the_first_keys_grace(api_client, dev_environment):
    first = environment_api_key_rotate(environment_id=dev_environment.id)
    second = environment_api_key_rotate(environment_id=dev_environment.id)
    assert _whoami(api_client, DEV_KEY) == 401
    assert _whoami(api_client, first.api_key) == 200
    assert _whoami(api_client, second.api_key) == 200


def test_a_grace_of_zero_switches_at_once(api_client, dev_environment):
    rotation = environment_api_key_rotate(environment_id=dev_environment.id, grace=timedelta(0))
    assert _whoami(api_client, DEV_KEY) == 401
    assert _whoami(api_client, rotation.api_key) == 200


def test_a_pinned_key_cannot_reuse_a_previous_key(dev_environment):
    from endpoints.errors import InvalidEnvironmentOptions

    environment_api_key_rotate(environment_id=dev_environment.id)
    with pytest.raises(InvalidEnvironmentOptions):
        environment_get_or_create(organization="Other", project="Other", env_type="DEVELOPMENT", api_key=DEV_KEY)


def test_an_endpoint_on_the_old_key_keeps_working_through_the_grace(api_client, dev_environment, sdk_basic):
    """The real SDK started with the old key: PING and INDEX_ENDPOINT fall back to it."""
    rotation = environment_api_key_rotate(environment_id=dev_environment.id)
    response = _register(api_client, rotation.api_key, "my-endpoint", sdk_basic.url)
    assert response.status_code == 200, response.json()
    endpoint = Endpoint.objects.get(slug="my-endpoint")
    assert endpoint.answered_key_hash == hash_key(DEV_KEY)

    endpoint_index_run(index_id=response.json()["endpointIndex"]["id"])
    index = EndpointIndex.objects.get(id=response.json()["endpointIndex"]["id"])
    assert index.status == IndexStatus.SUCCESS, index.error
    assert index.stats["jobs"] > 0

    dev_environment.refresh_from_db()
    status = environment_key_status(environment=dev_environment)
    assert status.in_grace
    assert [e.slug for e in status.on("previous")] == ["my-endpoint"]
    assert status.on("current") == []


def test_after_the_grace_the_old_key_endpoint_is_rejected_with_the_sdk_message(api_client, dev_environment, sdk_basic):
    rotation = environment_api_key_rotate(environment_id=dev_environment.id)
    assert _register(api_client, rotation.api_key, "my-endpoint", sdk_basic.url).status_code == 200
    _expire_grace(dev_environment)

    response = _register(api_client, rotation.api_key, "my-endpoint", sdk_basic.url)
    assert response.status_code == 400
    assert MISMATCH in response.json()["error"]

    endpoint = Endpoint.objects.get(slug="my-endpoint")
    from endpoints.services.indexing import endpoint_index_request

    index = endpoint_index_request(endpoint=endpoint, source="MANUAL")
    endpoint_index_run(index_id=index.id)
    index.refresh_from_db()
    assert index.status == IndexStatus.FAILURE
    assert index.error["code"] == "UNAUTHORIZED"
    assert MISMATCH in index.error["message"]
    status = environment_key_status(environment=dev_environment)
    assert not status.in_grace
    assert [e.slug for e in status.on("previous")] == ["my-endpoint"]  # still the last key it accepted


def test_the_environment_lists_endpoints_by_the_key_they_answer_to(api_client, dev_environment, sdk_basic):
    rotation = environment_api_key_rotate(environment_id=dev_environment.id)
    assert _register(api_client, rotation.api_key, "my-endpoint", sdk_basic.url).status_code == 200
    redeployed = start_endpoint(api_key=rotation.api_key, endpoint_id="redeployed")
    try:
        assert _register(api_client, rotation.api_key, "redeployed", redeployed.url).status_code == 200
    finally:
        redeployed.stop()
    Endpoint.objects.create(
        environment=dev_environment,
        organization=dev_environment.organization,
        project=dev_environment.project,
        slug="silent",
        url="http://127.0.0.1:9/api/trigger",
    )
    dev_environment.refresh_from_db()
    status = environment_key_status(environment=dev_environment)
    assert [e.slug for e in status.on("previous")] == ["my-endpoint"]
    assert [e.slug for e in status.on("current")] == ["redeployed"]
    assert [e.slug for e in status.on("unknown")] == ["silent"]
    assert Endpoint.objects.get(slug="redeployed").answered_key_hash == hash_key(rotation.api_key)


def test_rotation_and_fallback_never_log_a_key(api_client, dev_environment, sdk_basic, caplog):
    caplog.set_level(logging.DEBUG)
    rotation = environment_api_key_rotate(environment_id=dev_environment.id)
    response = _register(api_client, rotation.api_key, "my-endpoint", sdk_basic.url)
    endpoint_index_run(index_id=response.json()["endpointIndex"]["id"])
    formatter = JsonFormatter()
    lines = [formatter.format(record) for record in caplog.records]
    assert any("environments.api_key_rotated" in line for line in lines)
    assert any("endpoints.previous_key_accepted" in line for line in lines)
    assert not [line for line in lines if DEV_KEY in line or rotation.api_key in line]


def test_rotating_an_expected_key_that_changed_is_refused(dev_environment):
    from endpoints.errors import ApiKeyAlreadyRotated

    environment_api_key_rotate(environment_id=dev_environment.id, expected_key_hash=hash_key(DEV_KEY))
    with pytest.raises(ApiKeyAlreadyRotated):
        environment_api_key_rotate(environment_id=dev_environment.id, expected_key_hash=hash_key(DEV_KEY))
    dev_environment.refresh_from_db()
    assert dev_environment.previous_api_key == DEV_KEY


def test_a_key_check_learns_which_key_an_endpoint_accepts(dev_environment, sdk_basic):
    from endpoints.services.environments import endpoint_key_check
    from tests import factories

    endpoint = factories.EndpointFactory(environment=dev_environment, slug="my-endpoint", url=sdk_basic.url)
    assert endpoint_key_check(endpoint_id=endpoint.id) == "current"
    rotation = environment_api_key_rotate(environment_id=dev_environment.id)
    assert endpoint_key_check(endpoint_id=endpoint.id) == "previous"
    dev_environment.refresh_from_db()
    assert [e.slug for e in environment_key_status(environment=dev_environment).on("previous")] == ["my-endpoint"]

    redeployed = start_endpoint(api_key=rotation.api_key, endpoint_id="my-endpoint")
    try:
        Endpoint.objects.filter(id=endpoint.id).update(url=redeployed.url)
        assert endpoint_key_check(endpoint_id=endpoint.id) == "current"
    finally:
        redeployed.stop()
    assert [e.slug for e in environment_key_status(environment=dev_environment).on("current")] == ["my-endpoint"]

    Endpoint.objects.filter(id=endpoint.id).update(url=sdk_basic.url)
    _expire_grace(dev_environment)
    assert MISMATCH in endpoint_key_check(endpoint_id=endpoint.id)
    # a failure records nothing: the last key it accepted stays the one shown
    assert [e.slug for e in environment_key_status(environment=dev_environment).on("current")] == ["my-endpoint"]
    Endpoint.objects.filter(id=endpoint.id).update(url=None)
    assert endpoint_key_check(endpoint_id=endpoint.id) == "deleted"


def test_checking_an_environment_queues_one_ping_per_live_endpoint(dev_environment, django_capture_on_commit_callbacks):
    from endpoints.services.environments import environment_endpoints_key_check
    from tests import factories

    factories.EndpointFactory.create_batch(3, environment=dev_environment)
    factories.EndpointFactory(environment=dev_environment, url=None)
    factories.EndpointFactory()  # another environment
    with django_capture_on_commit_callbacks() as callbacks:
        assert environment_endpoints_key_check(environment_id=dev_environment.id) == 3
    assert len(callbacks) == 3
    assert {c.keywords["kwargs"]["endpoint_id"] for c in callbacks} == set(
        Endpoint.objects.filter(environment=dev_environment, url__isnull=False).values_list("id", flat=True)
    )
