"""deploy/prometheus (alert rules, their unit tests, the example config) and deploy/grafana: valid for
promtool and Grafana, built on metrics Kongflow exports; the database gauges an autoscaler reads."""

import json
import re
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from django.utils import timezone
from prometheus_client import REGISTRY

from endpoints.models import (
    DeliveryStatus,
    EndpointHealth,
    IndexStatus,
    RegistryEvent,
    WebhookDelivery,
    WebhookSubscription,
)
from endpoints.selectors import endpoints_by_health, work_backlogs
from tests import factories
from tests.support.shapes import _require

REPO = Path(__file__).resolve().parents[1]
PROMETHEUS = REPO / "deploy" / "prometheus"
DASHBOARD = REPO / "deploy" / "grafana" / "kongflow.json"
# Prometheus's own series (not exported by Kongflow): `up` of each scrape target.
PROMETHEUS_OWN = {"up"}


def rule_expressions() -> list[str]:
    groups = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


def dashboard_expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def metric_names(expressions: list[str]) -> set[str]:
    """Kongflow's metric names an expression uses (and Prometheus's own `up`)."""
    names = set()
    for expr in expressions:
        names |= set(re.findall(r"\b(kongflow_[a-z0-9_]+)\b", expr))
        names |= set(re.findall(r"\b(up)\{", expr))
    return names


def exported(body: str, name: str) -> bool:
    """`name` is a sample (a histogram's _bucket, a counter's _total) or a family in the exposition."""
    return bool(re.search(rf"^(# TYPE )?{re.escape(name)}[{{ ]", body, re.MULTILINE))


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [_require("promtool", "prometheus"), *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=60
    )


def test_promtool_checks_the_alert_rules_and_their_unit_tests():
    checked = promtool("check", "rules", "alerts.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 8 rules found" in checked.stdout
    tested = promtool("test", "rules", "alerts.test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    config = promtool("check", "config", "prometheus.yml")
    assert config.returncode == 0, config.stdout + config.stderr


def test_every_alert_has_a_severity_a_duration_and_a_summary():
    groups = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    assert {rule["alert"] for rule in rules} >= {
        "KongflowEndpointsFailing",
        "KongflowIndexBacklogOld",
        "KongflowWebhookBacklogOld",
        "KongflowHousekeepingOverdue",
        "KongflowNoWorker",
    }
    for rule in rules:
        assert rule["labels"]["severity"] in ("warning", "critical"), rule
        assert rule["for"] and rule["annotations"]["summary"], rule


def test_the_dashboard_is_valid_json_with_unique_panels_on_the_datasource_variable():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "kongflow" and dashboard["panels"]
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])
    assert [var["name"] for var in dashboard["templating"]["list"]] == ["datasource"]
    for panel in dashboard["panels"]:
        assert panel["targets"] and all(target["expr"] for target in panel["targets"]), panel["title"]
        assert panel["datasource"]["uid"] == "${datasource}"


def test_rules_and_dashboard_use_only_metrics_kongflow_defines():
    """Every kongflow_* name is one of ours (the live check is tests/integration/test_monitoring.py)."""
    defined = set()
    for collector in list(REGISTRY._collector_to_names):
        for family in collector.describe() if hasattr(collector, "describe") else []:
            defined |= {family.name, *(f"{family.name}{suffix}" for suffix in ("_total", "_bucket", "_count", "_sum"))}
    used = metric_names(rule_expressions() + dashboard_expressions()) - PROMETHEUS_OWN
    assert used and used <= defined, used - defined


@pytest.mark.django_db
def test_work_backlogs_count_what_is_due_and_its_age(prod_environment):
    now = timezone.now()
    due = factories.EndpointIndexFactory(endpoint=factories.EndpointFactory(environment=prod_environment))
    factories.EndpointIndexFactory(  # waiting out a retry's backoff: not due
        endpoint=factories.EndpointFactory(environment=prod_environment), run_at=now + timedelta(minutes=2)
    )
    factories.EndpointIndexFactory(
        endpoint=factories.EndpointFactory(environment=prod_environment), status=IndexStatus.SUCCESS
    )
    type(due).objects.filter(id=due.id).update(run_at=now - timedelta(seconds=90))
    backlogs = {backlog.kind: backlog for backlog in work_backlogs(now=now)}
    assert backlogs["index"].depth == 1
    assert backlogs["index"].oldest_due_at == now - timedelta(seconds=90)
    assert backlogs["webhooks"].depth == 0 and backlogs["webhooks"].oldest_due_at is None


@pytest.mark.django_db
def test_the_metrics_page_exports_backlogs_and_endpoints_by_health(client, prod_environment):
    endpoint = factories.EndpointFactory(environment=prod_environment)
    type(endpoint).objects.filter(id=endpoint.id).update(health=EndpointHealth.FAILING)
    factories.EndpointFactory(environment=prod_environment, url=None)
    run = factories.EndpointIndexFactory(endpoint=endpoint)
    type(run).objects.filter(id=run.id).update(run_at=timezone.now() - timedelta(minutes=10))
    subscription = WebhookSubscription.objects.create(
        environment=prod_environment, url="http://127.0.0.1:9/", secret="x"
    )
    for sequence in (1, 2, 3):
        event = RegistryEvent.objects.create(
            id=f"ev{sequence}",
            environment=prod_environment,
            sequence=sequence,
            type="job.added",
            data={},
            occurred_at=timezone.now(),
        )
        WebhookDelivery.objects.create(
            id=f"de{sequence}", subscription=subscription, event=event, status=DeliveryStatus.PENDING
        )
    WebhookDelivery.objects.update(created_at=timezone.now() - timedelta(seconds=30))
    assert endpoints_by_health()[EndpointHealth.FAILING] == 1
    body = client.get("/metrics").content.decode()
    assert 'kongflow_endpoints{health="FAILING"} 1.0' in body
    assert 'kongflow_endpoints{health="DELETED"} 1.0' in body
    assert 'kongflow_work_backlog{kind="index"} 1.0' in body
    assert 'kongflow_work_backlog{kind="webhooks"} 3.0' in body
    age = float(re.search(r'^kongflow_work_backlog_oldest_age_seconds\{kind="index"\} (\S+)$', body, re.M).group(1))
    assert 600 <= age < 660
    webhooks = re.search(r'^kongflow_work_backlog_oldest_age_seconds\{kind="webhooks"\} (\S+)$', body, re.M)
    assert 30 <= float(webhooks.group(1)) < 90
