"""manage.py seedscale at a tiny size: the rows it makes hang together as the service's own would,
it refuses a database holding real tenants unless forced, and it refuses to seed twice."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, Max

from endpoints.models import (
    Endpoint,
    EndpointHealth,
    EndpointIndex,
    EventSequence,
    IndexStatus,
    JobAlias,
    JobVersion,
    Organization,
    RegistryEvent,
    WebhookDelivery,
)
from endpoints.selectors import endpoint_index_latest_success
from tests import factories

ENDPOINTS, JOBS, RUNS = 200, 2, 3


def seedscale(*args: str) -> str:
    out = StringIO()
    call_command(
        "seedscale", "--endpoints", str(ENDPOINTS), "--jobs-per-endpoint", str(JOBS),
        "--runs-per-endpoint", str(RUNS), *args, stdout=out, stderr=StringIO(),
    )  # fmt: skip
    return out.getvalue()


@pytest.mark.django_db
def test_seeds_a_fleet_whose_rows_agree_with_each_other():
    out = seedscale()
    assert "endpoints_endpoint" in out and "Seeded in" in out
    assert Endpoint.objects.count() == ENDPOINTS
    healths = dict(Endpoint.objects.values_list("health").annotate(n=Count("id")))
    assert healths.get(EndpointHealth.FAILING) and healths.get(EndpointHealth.HEALTHY)
    assert Endpoint.objects.filter(url__isnull=True).exists()  # some soft-deleted

    runs = dict(EndpointIndex.objects.values_list("endpoint_id").annotate(n=Count("id")))
    for endpoint in Endpoint.objects.all():
        if endpoint.health == EndpointHealth.NEVER_INDEXED:
            assert endpoint.id not in runs and endpoint.last_index_status is None
            continue
        assert runs[endpoint.id] == RUNS
        last = EndpointIndex.objects.filter(endpoint=endpoint).order_by("-created_at").first()
        assert (endpoint.last_index_status, endpoint.last_index_at) == (last.status, last.created_at)
        expected = IndexStatus.SUCCESS if endpoint.health == EndpointHealth.HEALTHY else IndexStatus.FAILURE
        assert last.status == expected
        active = JobVersion.objects.filter(endpoint=endpoint, status="ACTIVE")
        assert active.count() == JOBS
        assert JobAlias.objects.filter(version__in=active).count() == JOBS

    # SUCCESS runs carry the document an SDK would send, as the indexing code reads it.
    success = endpoint_index_latest_success(endpoint_id=last.endpoint_id)
    if success is not None:
        assert len(success.data["jobs"]) == JOBS and success.stats["jobs"] == JOBS
    failure = EndpointIndex.objects.filter(status=IndexStatus.FAILURE).first()
    assert failure.error["code"] and failure.data is None

    # One registry event per run, sequences gap-free per environment, the counter at the last one.
    assert RegistryEvent.objects.count() == EndpointIndex.objects.count()
    for sequence in EventSequence.objects.all():
        events = RegistryEvent.objects.filter(environment_id=sequence.environment_id)
        assert events.aggregate(last=Max("sequence"))["last"] == sequence.last_sequence == events.count()
    assert WebhookDelivery.objects.exists()


@pytest.mark.django_db
def test_the_console_lists_a_seeded_fleet(admin_client):
    seedscale()
    assert admin_client.get("/admin/endpoints/endpoint/?health=FAILING").status_code == 200
    run = EndpointIndex.objects.filter(status=IndexStatus.SUCCESS).first()
    assert admin_client.get(f"/admin/endpoints/endpointindex/{run.id}/change/").status_code == 200


@pytest.mark.django_db
def test_refuses_a_database_with_a_real_tenant_unless_forced():
    factories.OrganizationFactory(slug="acme")
    with pytest.raises(CommandError, match="1 real organization"):
        seedscale()
    assert not Endpoint.objects.exists()
    seedscale("--force")
    assert Endpoint.objects.count() == ENDPOINTS
    assert Organization.objects.filter(slug="acme").exists()


@pytest.mark.django_db
def test_refuses_to_seed_twice():
    seedscale()
    counts = (Endpoint.objects.count(), EndpointIndex.objects.count())
    with pytest.raises(CommandError, match="seeded already"):
        seedscale()
    assert (Endpoint.objects.count(), EndpointIndex.objects.count()) == counts


@pytest.mark.django_db
def test_rejects_negative_counts():
    with pytest.raises(CommandError, match="0 or more"):
        call_command("seedscale", "--endpoints", "-1", stdout=StringIO(), stderr=StringIO())
