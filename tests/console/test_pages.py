"""The console's pages and actions, server-side (the browser tests drive the same pages in Chromium)."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from endpoints.models import Endpoint, EndpointIndex, IndexSource, IndexStatus, JobVersion
from endpoints.services.indexing import endpoint_index_request, endpoint_index_run
from tests import factories
from tests.conftest import DEV_KEY


def run(endpoint):
    index = endpoint_index_request(endpoint=endpoint, source=IndexSource.MANUAL)
    endpoint_index_run(index_id=index.id)
    index.refresh_from_db()
    return index


@pytest.fixture
def basic_endpoint(dev_environment, sdk_basic):
    return factories.EndpointFactory(environment=dev_environment, slug="my-endpoint", url=sdk_basic.url)


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def test_the_list_flags_failing_endpoints_with_names_not_ids(admin_client, basic_endpoint, failing_endpoint):
    run(basic_endpoint)
    run(failing_endpoint)
    page = text(admin_client.get("/admin/endpoints/endpoint/"))
    assert "failing since" in page and "healthy" in page
    project = basic_endpoint.project.name
    assert f"{project} / {basic_endpoint.environment.slug} DEVELOPMENT" in page
    assert "2.3.19" in page
    failing_only = text(admin_client.get("/admin/endpoints/endpoint/?health=FAILING"))
    assert "broken-app" in failing_only and "my-endpoint" not in failing_only


def _list_queries(admin_client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert admin_client.get("/admin/endpoints/endpoint/").status_code == 200
    return len(queries)


def test_the_endpoint_list_costs_the_same_queries_for_3_or_45_rows(admin_client, dev_environment):
    def add(n):
        for _ in range(n):
            endpoint = factories.EndpointFactory(environment=factories.RuntimeEnvironmentFactory())
            factories.EndpointIndexFactory(endpoint=endpoint, status=IndexStatus.FAILURE, error={"code": "X"})

    add(3)
    small = _list_queries(admin_client)
    add(42)
    large = _list_queries(admin_client)
    assert small == large
    assert large <= 10


def test_the_run_list_never_loads_the_large_columns(admin_client, basic_endpoint):
    run(basic_endpoint)
    with CaptureQueriesContext(connection) as queries:
        assert admin_client.get("/admin/endpoints/endpointindex/").status_code == 200
    sql = " ".join(q["sql"] for q in queries)
    for column in ("data", "diff", "exchange", "source_data"):
        assert f'"endpoints_endpointindex"."{column}"' not in sql


def test_the_endpoint_page_shows_identity_runs_diff_and_jobs(admin_client, basic_endpoint):
    index = run(basic_endpoint)
    response = admin_client.get(f"/admin/endpoints/endpoint/{basic_endpoint.id}/change/")
    body = response.content.decode()
    page = text(response)
    assert basic_endpoint.url in page and "Copy" in page
    assert f"/index/{basic_endpoint.indexing_hook_identifier}" in page
    assert index.id in page and "+ send-welcome-email" in page
    assert "send-welcome-email 1.0.0 event enabled since" in page and "daily-report 0.2.0 scheduled" in page
    assert "cron " in page  # the schedule of daily-report
    assert re.search(r'class="module aligned collapse".*?<details><summary>.*?Advanced: probe thresholds', body, re.S)
    for button in ("Reindex", "Ping now", "Dry run", "Probe", "Soft delete"):
        assert button in page
    assert DEV_KEY not in body
    assert f"?endpoint__id__exact={basic_endpoint.id}" in body
    assert (
        admin_client.get(f"/admin/endpoints/endpointindex/?endpoint__id__exact={basic_endpoint.id}").status_code == 200
    )


def test_a_failed_run_page_lists_per_job_problems_the_hint_and_the_inspector(admin_client, failing_endpoint):
    index = run(failing_endpoint)
    response = admin_client.get(f"/admin/endpoints/endpointindex/{index.id}/change/")
    body = response.content.decode()
    page = text(response)
    assert "INVALID_DOCUMENT" in page
    problems = re.findall(r"<ul class=\"kf-problems\">(.*?)</ul>", body, re.S)
    assert problems and problems[0].count("<li>") == 2
    assert "Job &quot;broken-one&quot;" in problems[0] and "Job &quot;broken-two&quot;" in problems[0]
    assert "Hint: Fix the job definitions" in page
    assert "Raw body" in page
    assert "Copy as curl" in page and "$TRIGGER_API_KEY" in page and DEV_KEY not in body
    assert "Response 200" in page and "broken-two" in page


def test_a_successful_run_page_shows_the_diff_and_the_document_collapsed(admin_client, basic_endpoint):
    index = run(basic_endpoint)
    page = admin_client.get(f"/admin/endpoints/endpointindex/{index.id}/change/").content.decode()
    assert "+ daily-report" in page
    assert re.search(r'<details class="kf-json"><summary>Document \(\d+ lines\)</summary>', page)
    assert "Failure inspector" not in page


def test_reindex_ping_and_dry_run_buttons_call_services(admin_client, basic_endpoint):
    base = f"/admin/endpoints/endpoint/{basic_endpoint.id}/operate"
    buttons = admin_client.get(f"/admin/endpoints/endpoint/{basic_endpoint.id}/change/").content.decode()
    assert {f"{base}/{op}/" for op in ("reindex", "ping", "dry-run", "probe", "delete")} <= set(
        re.findall(r'<form method="post" action="([^"]+)"', buttons)
    )
    page = text(admin_client.post(f"{base}/reindex/", follow=True))
    created = EndpointIndex.objects.get(endpoint=basic_endpoint)
    assert f"Requested index run {created.id}" in page and created.source == "MANUAL"
    assert "Ping ok in" in text(admin_client.post(f"{base}/ping/", follow=True))
    dry = text(admin_client.post(f"{base}/dry-run/"))
    assert "Nothing was written" in dry and "+ send-welcome-email@1.0.0" in dry
    assert JobVersion.objects.count() == 0
    assert admin_client.get(f"{base}/ping/").status_code == 405


def test_ping_reports_the_endpoints_error(admin_client, failing_endpoint, misbehaving):
    page = text(admin_client.post(f"/admin/endpoints/endpoint/{failing_endpoint.id}/operate/ping/", follow=True))
    assert "Ping failed after" in page


def test_soft_delete_then_restore_pings_and_reindexes(admin_client, basic_endpoint):
    base = f"/admin/endpoints/endpoint/{basic_endpoint.id}/operate"
    assert "Deleted" in text(admin_client.post(f"{base}/delete/", follow=True))
    basic_endpoint.refresh_from_db()
    assert basic_endpoint.url is None
    page = text(admin_client.get(f"/admin/endpoints/endpoint/{basic_endpoint.id}/change/"))
    assert "deleted" in page and "Restore" in page and "Reindex" not in page
    assert "Restored" in text(admin_client.post(f"{base}/restore/", follow=True))
    basic_endpoint.refresh_from_db()
    assert basic_endpoint.url and basic_endpoint.url_before_delete is None
    assert EndpointIndex.objects.filter(endpoint=basic_endpoint, status=IndexStatus.PENDING).count() == 1


def test_a_view_only_user_cannot_operate(client, basic_endpoint):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_endpoint"))
    client.force_login(user)
    assert "Reindex" not in text(client.get(f"/admin/endpoints/endpoint/{basic_endpoint.id}/change/"))
    assert client.post(f"/admin/endpoints/endpoint/{basic_endpoint.id}/operate/reindex/").status_code == 403
    assert not EndpointIndex.objects.exists()


def test_add_endpoint_pings_first_and_shows_the_error_under_the_url(admin_client, dev_environment, misbehaving):
    from tests.console.conftest import server_error

    url = misbehaving.route("/down", server_error)
    response = admin_client.post(
        "/admin/endpoints/endpoint/add/", {"environment": dev_environment.id, "url": url, "slug": "app"}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'class="kf-field-error">.*Could not connect to endpoint', body, re.S)
    assert not Endpoint.objects.exists()


def test_add_endpoint_registers_with_a_slug_or_learns_it(admin_client, dev_environment, sdk_basic):
    response = admin_client.post(
        "/admin/endpoints/endpoint/add/", {"environment": dev_environment.id, "url": sdk_basic.url, "slug": ""}
    )
    endpoint = Endpoint.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{endpoint.id}/change/")
    assert endpoint.slug == "my-endpoint"  # learnt through VALIDATE
    assert EndpointIndex.objects.filter(endpoint=endpoint).exists()


def test_the_jobs_list_shows_endpoint_trigger_and_state(admin_client, basic_endpoint):
    run(basic_endpoint)
    page = text(admin_client.get("/admin/endpoints/jobversion/"))
    assert "my-endpoint" in page and "event" in page and "scheduled" in page
    assert "enabled since" in page
    JobVersion.objects.filter(job__slug="daily-report").update(status="DISABLED")  # as a vanished job would be
    every = text(admin_client.get("/admin/endpoints/jobversion/?versions=all&status__exact=DISABLED"))
    assert "disabled since" in every and "daily-report" in every and "send-welcome-email" not in every


def test_the_overview_shows_health_runs_failures_backlog_and_a_chart(admin_client, basic_endpoint, failing_endpoint):
    run(basic_endpoint)
    failed = run(failing_endpoint)
    factories.EndpointIndexFactory(endpoint=basic_endpoint, status=IndexStatus.PENDING)
    assert "Overview" in text(admin_client.get("/admin/"))
    response = admin_client.get("/admin/overview/")
    body = response.content.decode()
    page = text(response)
    assert re.search(r"healthy 1 .*failing 1", page) or re.search(r"failing 1 .*healthy 1", page)
    assert failed.id in page and "INVALID_DOCUMENT" in page and "broken-app" in page
    assert "1 pending run(s)" in page
    assert "<svg" in body and "<rect" in body and "<polyline" in body
    assert "http://" not in body.split("<svg", 1)[1].split("</svg>", 1)[0].replace("http://www.w3.org", "")


def test_probe_queues_the_task_after_commit_and_skips_deleted_endpoints(
    admin_client, basic_endpoint, django_capture_on_commit_callbacks
):
    base = f"/admin/endpoints/endpoint/{basic_endpoint.id}/operate"
    with django_capture_on_commit_callbacks() as callbacks:
        page = text(admin_client.post(f"{base}/probe/", follow=True))
    assert "Probe queued" in page and len(callbacks) == 1
    Endpoint.objects.filter(id=basic_endpoint.id).update(url=None)
    with django_capture_on_commit_callbacks() as callbacks:
        page = text(admin_client.post(f"{base}/probe/", follow=True))
    assert "nothing to probe" in page and not callbacks


def test_the_run_page_shows_when_it_was_queued_and_its_attempts(admin_client, failing_endpoint):
    index = run(failing_endpoint)
    page = text(admin_client.get(f"/admin/endpoints/endpointindex/{index.id}/change/"))
    assert "Queued at:" in page and "Attempts: 1 of 1" in page and "Duration:" in page


def test_the_overview_shows_when_housekeeping_last_ran_and_what_is_overdue(admin_client, db):
    from datetime import timedelta

    from django.utils import timezone

    from endpoints.models import HousekeepingRun

    now = timezone.now()
    HousekeepingRun.objects.create(
        task="endpoints.sweep_endpoint_indexes", last_started_at=now - timedelta(hours=2), last_finished_at=now
    )
    HousekeepingRun.objects.create(
        task="endpoints.recurring_endpoint_indexing",
        last_started_at=now - timedelta(hours=2),
        last_finished_at=now - timedelta(hours=2),  # every 5 minutes: overdue
        last_error="OperationalError: too many clients",
    )
    page = text(admin_client.get("/admin/overview/"))
    assert re.search(r"sweep endpoint indexes \d+ s ago", page)
    assert re.search(r"recurring endpoint indexing 2 h ago overdue: is beat running\?", page)
    assert "too many clients" in page
    assert "purge old endpoint indexes never" in page
