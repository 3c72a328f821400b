"""The first real flow, end to end: register a real SDK endpoint over HTTP, a real worker indexes it."""

import json
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from endpoints.models import Endpoint, EndpointIndex, IndexStatus, Job
from tests.conftest import DEV_KEY, PROD_KEY
from tests.support.sdk import fixture_dir
from tests.support.worker import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def api(live_api, key, method, path, **kwargs):
    return requests.request(
        method, f"{live_api}{path}", headers={"Authorization": f"Bearer {key}"}, timeout=30, **kwargs
    )


def cli(command: str, *args: str) -> subprocess.CompletedProcess:
    """The fixture's client.mjs: what the v2 CLI/SDK send to our API."""
    return subprocess.run(
        ["node", str(fixture_dir() / "client.mjs"), command, *args], capture_output=True, text=True, timeout=60
    )


def poll_until_final(live_api, key, index_id, timeout=30):
    def final():
        body = api(live_api, key, "GET", f"/api/v1/endpointindex/{index_id}").json()
        return body if body["status"] in ("SUCCESS", "FAILURE") else None

    return wait_for(final, timeout=timeout, what=f"index {index_id} to finish")


def test_register_then_the_worker_indexes_it(live_api, dev_environment, sdk_basic):
    started = time.perf_counter()
    response = api(live_api, DEV_KEY, "POST", "/api/v1/endpoints", json={"id": "my-endpoint", "url": sdk_basic.url})
    assert response.status_code == 200, response.text
    index_id = response.json()["endpointIndex"]["id"]
    body = poll_until_final(live_api, DEV_KEY, index_id)
    elapsed = time.perf_counter() - started
    assert body["status"] == "SUCCESS", body
    assert body["stats"]["jobs"] == 2
    assert set(Job.objects.values_list("slug", flat=True)) == {"send-welcome-email", "daily-report"}
    print(f"register -> SUCCESS in {elapsed * 1000:.0f} ms")


def test_the_cli_dev_flow_succeeds(live_api, dev_environment, sdk_basic):
    result = cli("dev", "--api-url", live_api, "--api-key", DEV_KEY, "--id", "my-endpoint", "--url", sdk_basic.url)
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert result.returncode == 0, out
    assert out["ok"] is True
    assert out["steps"]["whoami"]["authorized"] is True
    assert out["steps"]["indexResult"]["status"] == "SUCCESS"
    assert out["steps"]["indexResult"]["stats"]["jobs"] == 2


def test_the_synchronous_index_api_answers_with_the_finished_run(live_api, prod_sdk_environment, sdk_basic_prod):
    registered = api(
        live_api, PROD_KEY, "POST", "/api/v1/endpoints", json={"id": "my-endpoint", "url": sdk_basic_prod.url}
    )
    assert registered.status_code == 200
    poll_until_final(live_api, PROD_KEY, registered.json()["endpointIndex"]["id"])
    response = api(live_api, PROD_KEY, "POST", "/api/v1/endpoints/my-endpoint/index", json={"reason": "CI"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "SUCCESS" and body["source"] == "API" and body["reason"] == "CI"
    assert "data" not in body
    assert body["stats"]["jobs"] == 2


@pytest.mark.parametrize(
    ("slug", "key_override", "message"),
    [
        ("wrong-slug", None, "Endpoint ID mismatch error. Expected my-endpoint, got wrong-slug"),
        (
            "my-endpoint",
            "tr_dev_notTheEndpointsKey",
            "Forbidden: client apiKey mismatch: Make sure you are using the correct API Key for your environment",
        ),
    ],
)
def test_registration_errors_reach_the_cli_verbatim(live_api, db, sdk_basic, slug, key_override, message):
    from tests.factories import RuntimeEnvironmentFactory

    environment = RuntimeEnvironmentFactory(api_key=key_override or DEV_KEY)
    result = cli(
        "register", "--api-url", live_api, "--api-key", environment.api_key, "--id", slug, "--url", sdk_basic.url
    )
    out = json.loads(result.stdout)
    assert out["result"]["status"] == 400
    assert out["result"]["error"] == message
    assert out["result"]["retryable"] is False
    assert not Endpoint.objects.exists()


def test_an_unreachable_url_is_an_error_the_cli_retries(live_api, dev_environment):
    url = "http://127.0.0.1:9/api/trigger"  # the discard port: nothing listens
    result = cli("register", "--api-url", live_api, "--api-key", DEV_KEY, "--id", "my-endpoint", "--url", url)
    out = json.loads(result.stdout)
    assert out["result"]["status"] == 400
    assert out["result"]["error"] == f"Could not connect to endpoint {url}"
    assert out["result"]["retryable"] is True
    assert not Endpoint.objects.exists()


def test_the_synchronous_index_api_answers_200_with_a_failed_run(live_api, dev_environment):
    from tests.factories import EndpointFactory

    EndpointFactory(environment=dev_environment, slug="gone", url="http://127.0.0.1:9/api/trigger")
    response = api(live_api, DEV_KEY, "POST", "/api/v1/endpoints/gone/index", json={})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "FAILURE" and body["source"] == "API"
    assert body["error"]["code"] == "CONNECTION_FAILED"
    assert body["error"]["message"] == "Could not connect to endpoint http://127.0.0.1:9/api/trigger"


def test_fifty_concurrent_registrations_make_one_endpoint(live_api, dev_environment, sdk_basic):
    def register(_):
        return api(live_api, DEV_KEY, "POST", "/api/v1/endpoints", json={"id": "my-endpoint", "url": sdk_basic.url})

    with ThreadPoolExecutor(max_workers=25) as pool:
        responses = list(pool.map(register, range(50)))
    assert [r.status_code for r in responses] == [200] * 50
    assert Endpoint.objects.count() == 1
    assert len({r.json()["id"] for r in responses}) == 1
    assert len({r.json()["indexingHookIdentifier"] for r in responses}) == 1
    wait_for(
        lambda: not EndpointIndex.objects.filter(status__in=["PENDING", "STARTED"]).exists(),
        timeout=30,
        what="indexes to settle",
    )
    assert EndpointIndex.objects.filter(status=IndexStatus.FAILURE).count() == 0


def test_reindex_wait_reports_success_and_fails_on_failure(live_api, dev_environment, sdk_basic):
    from io import StringIO

    from django.core.management import CommandError, call_command

    from tests.factories import EndpointFactory

    EndpointFactory(environment=dev_environment, slug="my-endpoint", url=sdk_basic.url)
    EndpointFactory(environment=dev_environment, slug="gone", url="http://127.0.0.1:9/api/trigger")
    out, err = StringIO(), StringIO()
    call_command("reindex", "--endpoint", "my-endpoint", "--wait", stdout=out, stderr=err)
    assert "my-endpoint: SUCCESS" in err.getvalue()
    assert out.getvalue().splitlines()[1].split()[-2:] == ["SUCCESS", "2"]
    with pytest.raises(CommandError, match="1 of 1 index"):
        call_command("reindex", "--endpoint", "gone", "--wait", stdout=out, stderr=err)
    assert "CONNECTION_FAILED" in out.getvalue()
