"""manage.py reindex: target selection, dry run, progress on stderr and a table on stdout."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from endpoints.models import EndpointIndex, Job
from tests import factories


def reindex(*args):
    out, err = StringIO(), StringIO()
    call_command("reindex", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_reindex_by_slug_requests_a_manual_run(endpoint):
    out, err = reindex("--endpoint", endpoint.slug, "--reason", "operator")
    index = EndpointIndex.objects.get()
    assert (index.source, index.reason, index.status) == ("MANUAL", "operator", "PENDING")
    assert f"[1/1] {endpoint.slug}: requested {index.id}" in err
    assert out.splitlines()[0].split() == ["ENDPOINT", "ENVIRONMENT", "INDEX", "STATUS", "JOBS", "DETAIL"]
    assert index.id in out


def test_reindex_by_environment_and_all_skip_deleted_endpoints(environment):
    live = factories.EndpointFactory(environment=environment)
    factories.EndpointFactory(environment=environment, url=None)
    factories.EndpointFactory()  # another environment
    reindex("--environment", environment.id)
    assert list(EndpointIndex.objects.values_list("endpoint_id", flat=True)) == [live.id]
    reindex("--all")
    assert EndpointIndex.objects.values("endpoint_id").distinct().count() == 2


def test_reindex_needs_a_target_that_exists(db):
    with pytest.raises(CommandError, match="No live endpoint"):
        reindex("--endpoint", "nope")


def test_dry_run_shows_the_diff_and_writes_nothing(dev_environment, sdk_basic):
    factories.EndpointFactory(environment=dev_environment, slug="my-endpoint", url=sdk_basic.url)
    out, _ = reindex("--endpoint", "my-endpoint", "--dry-run")
    assert "+3 -0 ~0 jobs; disable: -" in out
    assert "Dry run: nothing was written." in out
    assert not EndpointIndex.objects.exists() and not Job.objects.exists()


def test_dry_run_reports_an_unreachable_endpoint(environment):
    factories.EndpointFactory(environment=environment, slug="gone", url="http://127.0.0.1:9/api/trigger")
    out, _ = reindex("--endpoint", "gone", "--dry-run")
    assert "CONNECTION_FAILED" in out
