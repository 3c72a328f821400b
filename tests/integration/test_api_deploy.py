"""A deploy script and a dashboard through the API alone: register a real SDK endpoint, wait for
its index (a real worker), print what the deploy changed; list endpoints with health and history."""

import pytest
import requests

from tests.conftest import PROD_KEY
from tests.support.sdk import sdk_endpoint
from tests.support.worker import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def deploy(variant):
    return sdk_endpoint(
        api_key=PROD_KEY, endpoint_id="evolving", scenario="evolving", extra_args=["--variant", variant]
    )


class Api:
    def __init__(self, base: str) -> None:
        self.base = base

    def __call__(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {PROD_KEY}"}
        return requests.request(method, f"{self.base}{path}", headers=headers, timeout=30, **kwargs)

    def register_and_wait(self, url: str) -> dict:
        """What a deploy script does: register, wait for the index, answer the finished run."""
        registered = self("POST", "/api/v1/endpoints", json={"id": "evolving", "url": url})
        assert registered.status_code == 200, registered.text
        index_id = registered.json()["endpointIndex"]["id"]

        def finished():
            body = self("GET", f"/api/v1/endpointindex/{index_id}").json()
            return body if body["status"] in ("SUCCESS", "FAILURE") else None

        return wait_for(finished, timeout=30, what=f"index {index_id}")


def changes(diff: dict) -> list[str]:
    return [f"{sign} {job}" for sign, key in (("+", "added"), ("-", "removed"), ("~", "changed")) for job in diff[key]]


def test_a_deploy_script_registers_waits_and_prints_what_changed(live_api, prod_sdk_environment, capsys):
    api = Api(live_api)
    with deploy("1") as sdk:
        first = api.register_and_wait(sdk.url)
    assert first["status"] == "SUCCESS", first
    assert changes(first["diff"]) == ["+ job-a", "+ job-b", "+ job-c", "+ job-cron"]

    with deploy("2") as sdk:
        second = api.register_and_wait(sdk.url)
        assert second["status"] == "SUCCESS", second
        print("\n".join(changes(second["diff"])))
        # Nothing is left to change: a dry run now plans no change.
        plan = api("POST", "/api/v1/endpoints/evolving/plan").json()
        assert plan["status"] == "SUCCESS" and plan["diff"] == {"added": [], "removed": [], "changed": []}
    assert capsys.readouterr().out.splitlines() == ["+ job-d", "- job-a", "~ job-b", "~ job-c"]

    # The dashboard: every endpoint with its health and history, through the API alone.
    (endpoint,) = api("GET", "/api/v1/endpoints?health=HEALTHY").json()["results"]
    assert endpoint["slug"] == "evolving" and endpoint["health"]["state"] == "HEALTHY"
    assert endpoint["latestIndex"]["diff"] == second["diff"] and endpoint["counts"]["jobs"] == 5
    runs = api("GET", "/api/v1/endpoints/evolving/indexes").json()["results"]
    assert [run["diff"] for run in runs] == [second["diff"], first["diff"]]
    enabled = api("GET", "/api/v1/endpoints/evolving/jobs?enabled=true").json()["results"]
    assert [(job["id"], job["version"]) for job in enabled] == [
        ("job-b", "1.1.0"),
        ("job-cron", "1.0.0"),
        ("job-d", "1.0.0"),
    ]
    disabled = api("GET", "/api/v1/endpoints/evolving/jobs?enabled=false").json()["results"]
    assert [job["id"] for job in disabled] == ["job-a", "job-c"]

    assert api("DELETE", "/api/v1/endpoints/evolving").status_code == 204
    assert api("GET", "/api/v1/endpoints").json()["results"] == []
    assert api("GET", "/api/v1/endpoints/evolving").json()["health"]["state"] == "DELETED"
