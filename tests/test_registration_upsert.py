"""Registration's upsert: one statement, and an event only when the registration changed something."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from endpoints.models import Endpoint, RegistryEvent
from endpoints.services.registration import endpoint_register, endpoints_soft_delete


def event_types(environment):
    return list(
        RegistryEvent.objects.filter(environment=environment).order_by("sequence").values_list("type", flat=True)
    )


@pytest.mark.django_db
def test_the_endpoint_row_is_written_by_one_statement(dev_environment, sdk_basic):
    with CaptureQueriesContext(connection) as queries:
        endpoint_register(environment=dev_environment, slug="my-endpoint", url=sdk_basic.url)
    touching = [q["sql"] for q in queries if "endpoints_endpoint" in q["sql"].split(" WHERE ")[0]]
    assert len([sql for sql in touching if "INSERT INTO endpoints_endpoint" in sql]) == 1
    assert not [sql for sql in touching if sql.startswith(("SELECT", 'SELECT "endpoints_endpoint"', "UPDATE"))]


@pytest.mark.django_db
def test_registering_again_unchanged_records_no_event_but_still_indexes(dev_environment, sdk_basic):
    first = endpoint_register(environment=dev_environment, slug="my-endpoint", url=sdk_basic.url)
    updated_at = Endpoint.objects.get(id=first.endpoint.id).updated_at
    again = endpoint_register(environment=dev_environment, slug="my-endpoint", url=sdk_basic.url)
    assert again.endpoint.id == first.endpoint.id
    assert again.endpoint.indexing_hook_identifier == first.endpoint.indexing_hook_identifier
    assert again.index.id == first.index.id  # joined the PENDING run
    assert event_types(dev_environment) == ["endpoint.registered"]
    assert Endpoint.objects.get(id=first.endpoint.id).updated_at == updated_at


@pytest.mark.django_db
def test_a_new_url_is_an_event_with_the_previous_url(dev_environment, sdk_basic):
    endpoint = endpoint_register(environment=dev_environment, slug="my-endpoint", url=sdk_basic.url).endpoint
    other = sdk_basic.url.replace("127.0.0.1", "localhost")
    moved = endpoint_register(environment=dev_environment, slug="my-endpoint", url=other).endpoint
    assert moved.id == endpoint.id and moved.url == other
    event = RegistryEvent.objects.filter(environment=dev_environment).order_by("-sequence").first()
    assert event.type == "endpoint.registered"
    assert event.data["created"] is False and event.data["previousUrl"] == sdk_basic.url


@pytest.mark.django_db
def test_registering_a_deleted_endpoint_restores_it(dev_environment, sdk_basic):
    endpoint = endpoint_register(environment=dev_environment, slug="my-endpoint", url=sdk_basic.url).endpoint
    endpoints_soft_delete(endpoint_ids=[endpoint.id])
    endpoint_register(environment=dev_environment, slug="my-endpoint", url=sdk_basic.url)
    restored = Endpoint.objects.get(id=endpoint.id)
    assert restored.url == sdk_basic.url
    assert restored.deleted_at is None and restored.url_before_delete is None
    assert event_types(dev_environment) == ["endpoint.registered", "endpoint.deleted", "endpoint.restored"]
