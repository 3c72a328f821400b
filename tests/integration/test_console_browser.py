"""The operators' console in a real browser (Debian's Chromium through Playwright): the live server,
a real Celery worker, a real SDK endpoint and a misbehaving one.

`KONGFLOW_SCREENSHOTS=1` also writes the README's screenshots to docs/screenshots/.
"""

import random
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from endpoints import tasks
from endpoints.models import EndpointIndex, IndexSource, IndexStatus
from endpoints.services.indexing import endpoint_index_request, endpoint_index_run
from endpoints.services.registration import endpoints_soft_delete
from tests import factories
from tests.console.conftest import invalid_jobs
from tests.support.browser import chromium, require_chromium, screenshot
from tests.support.misbehaving import MisbehavingEndpoint
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def index_now(endpoint):
    index = endpoint_index_request(endpoint=endpoint, source=IndexSource.MANUAL, reason="Seeded by the test")
    endpoint_index_run(index_id=index.id)
    return EndpointIndex.objects.get(id=index.id)


def seed_history(endpoint, rng: random.Random) -> None:
    """Runs spread over the last 24 h, so the overview's chart has something to draw."""
    now = timezone.now()
    for hours_ago in range(23, 0, -1):
        for _ in range(rng.randint(1, 4)):
            created = now - timedelta(hours=hours_ago, minutes=rng.randint(0, 59))
            status = IndexStatus.FAILURE if rng.random() < 0.15 else IndexStatus.SUCCESS
            run = factories.EndpointIndexFactory(endpoint=endpoint, status=status, source=IndexSource.HOOK)
            started = created + timedelta(milliseconds=rng.randint(20, 200))
            finished = started + timedelta(milliseconds=rng.lognormvariate(4.5, 0.6))
            error = {"code": "TIMEOUT", "message": "Endpoint timed out", "hint": ""} if status == "FAILURE" else None
            EndpointIndex.objects.filter(id=run.id).update(
                created_at=created, started_at=started, finished_at=finished, error=error
            )


@pytest.fixture
def console(live_server, celery_worker, dev_environment, sdk_basic):
    require_chromium()
    get_user_model().objects.create_superuser("ops", "ops@example.com", "console-pw")
    with MisbehavingEndpoint() as server:
        healthy = factories.EndpointFactory(environment=dev_environment, slug="my-endpoint", url=sdk_basic.url)
        broken = factories.EndpointFactory(
            environment=dev_environment, slug="broken-app", url=server.route("/invalid/api/trigger", invalid_jobs)
        )
        factories.EndpointFactory(environment=dev_environment, slug="new-app", url=server.base + "/new")
        gone = factories.EndpointFactory(environment=dev_environment, slug="retired-app")
        endpoints_soft_delete(endpoint_ids=[gone.id])
        seed_history(healthy, random.Random(9))
        index_now(healthy)
        failed = index_now(broken)
        assert failed.status == IndexStatus.FAILURE
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            # The admin's navigation sidebar starts collapsed: more room for the pages.
            page.add_init_script("localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")
            page.set_default_timeout(30_000)
            yield {"page": page, "url": live_server.url, "healthy": healthy, "broken": broken, "failed": failed}
            page.close()


def login(page, base):
    page.goto(f"{base}/admin/login/?next=/admin/")
    page.fill("#id_username", "ops")
    page.fill("#id_password", "console-pw")
    page.click("input[type=submit]")
    page.wait_for_selector("#kf-overview-link")


def test_an_operator_finds_the_failing_endpoint_reindexes_and_reads_why(console):
    page, base = console["page"], console["url"]
    login(page, base)

    # The list flags the failing endpoint.
    page.click("tr.model-endpoint th a")
    page.wait_for_selector("#result_list")
    row = page.locator("#result_list tbody tr", has_text="broken-app")
    assert "failing since" in row.inner_text()
    assert "healthy" in page.locator("#result_list tbody tr", has_text="my-endpoint").inner_text()
    screenshot(page, "endpoint-list")

    # Open the healthy endpoint and reindex it: the new run appears and the worker finishes it.
    page.click("#result_list >> text=my-endpoint")
    page.wait_for_selector("#kf-runs")
    runs_before = page.locator("#kf-runs tbody tr").count()
    page.click("button:has-text('Reindex')")
    message = page.locator(".messagelist").inner_text()
    new_run = re.search(r"Requested index run (\w+)", message).group(1)
    assert page.locator("#kf-runs tbody tr", has_text=new_run).count() == 1
    assert page.locator("#kf-runs tbody tr").count() == min(runs_before + 1, 10)

    def finished() -> bool:
        page.reload()
        return "SUCCESS" in page.locator("#kf-runs tbody tr", has_text=new_run).inner_text()

    wait_for(finished, timeout=60, what=f"run {new_run} to succeed in the worker")
    assert EndpointIndex.objects.get(id=new_run).source == "MANUAL"
    assert "send-welcome-email" in page.locator("#kf-jobs").inner_text()
    screenshot(page, "endpoint-page")

    # The failing endpoint's failed run: one line per job problem, the hint, the inspector.
    page.goto(f"{base}/admin/endpoints/endpoint/{console['broken'].id}/change/")
    page.click(f"#kf-runs >> text={console['failed'].id}")
    page.wait_for_selector(".kf-inspector")
    problems = page.locator(".kf-problems li").all_inner_texts()
    assert len(problems) == 2
    assert problems[0].startswith('Job "broken-one"') and problems[1].startswith('Job "broken-two"')
    assert "Fix the job definitions" in page.locator(".kf-hint").inner_text()
    curl = page.locator("#kf-curl").inner_text()
    assert curl.startswith("curl -i -X POST") and "$TRIGGER_API_KEY" in curl and "INDEX_ENDPOINT" in curl
    assert "Response 200" in page.locator(".kf-inspector").inner_text()
    screenshot(page, "failed-run")

    # The overview, from the link in the header, after beat's housekeeping ran once (all but the
    # recurring index: "never", not yet overdue since beat started just now).
    for task in (
        tasks.sweep_endpoint_indexes,
        tasks.purge_old_endpoint_indexes,
        tasks.sweep_webhook_deliveries,
        tasks.purge_old_registry_events,
    ):
        task.apply()
    page.click("#user-tools >> text=Overview")
    page.wait_for_selector("svg.kf-chart")
    health = page.locator("#kf-health").inner_text()
    assert re.search(r"failing\s+1", health) and re.search(r"healthy\s+1", health)
    assert re.search(r"deleted\s+1", health) and re.search(r"never indexed\s+1", health)
    assert console["failed"].id in page.locator("#kf-failures").inner_text()
    assert page.locator("svg.kf-chart rect").count() >= 23
    assert page.locator("svg.kf-chart polyline").count() == 2
    housekeeping = page.locator("#kf-backlog").inner_text()
    assert re.search(r"sweep endpoint indexes\s+\d+ s ago", housekeeping)
    assert re.search(r"recurring endpoint indexing\s+never", housekeeping) and "overdue" not in housekeeping
    screenshot(page, "overview")
