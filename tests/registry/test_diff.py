import copy

from endpoints.services.diff import document_diff, document_hash
from tests.registry.conftest import load

EMPTY = {"added": [], "removed": [], "changed": {}}
COLLECTIONS = ["jobs", "sources", "dynamicTriggers", "dynamicSchedules", "httpEndpoints", "webhooks"]


def test_first_index_reports_everything_added():
    full = load("full")
    diff = document_diff(None, full)
    assert list(diff) == COLLECTIONS
    assert diff["jobs"]["added"] == sorted(job["id"] for job in full["jobs"])
    assert diff["sources"] == {**EMPTY, "added": ["acme.repo-http-acme.widgets-acme-prod"]}
    assert diff["httpEndpoints"]["added"] == ["acme.deploy-9470f39", "inbound-http"]
    assert diff["webhooks"]["added"] == ["acme.deploy-9470f39"]


def test_identical_documents_have_an_empty_diff_and_the_same_hash():
    full = load("full")
    assert document_diff(full, copy.deepcopy(full)) == {name: EMPTY for name in COLLECTIONS}
    assert document_hash(full) == document_hash(copy.deepcopy(full))
    assert len(document_hash(full)) == 64


def test_order_of_keys_and_of_identified_items_does_not_matter():
    full = load("full")
    shuffled = copy.deepcopy(full)
    shuffled["jobs"].reverse()
    shuffled["jobs"][0] = dict(reversed(list(shuffled["jobs"][0].items())))
    shuffled["httpEndpoints"].reverse()
    assert document_hash(shuffled) == document_hash(full)
    assert document_diff(full, shuffled) == {name: EMPTY for name in COLLECTIONS}


def test_order_of_plain_lists_matters():
    full = load("full")
    changed = copy.deepcopy(full)
    nightly = next(job for job in changed["jobs"] if job["id"] == "nightly-cleanup")
    nightly["event"]["properties"].reverse()
    assert document_hash(changed) != document_hash(full)
    assert document_diff(full, changed)["jobs"]["changed"] == {"nightly-cleanup": ["event.properties"]}


def test_changes_are_reported_as_sorted_dotted_paths():
    before = load("basic")
    after = copy.deepcopy(before)
    welcome, report, cleanup = after["jobs"]
    welcome["trigger"]["rule"]["payload"]["plan"] = ["pro", "team", "enterprise"]
    welcome["version"] = "1.0.1"
    welcome["concurrencyLimit"] = 3
    cleanup["enabled"] = True
    after["jobs"] = [welcome, cleanup, {**report, "id": "weekly-report"}]
    after["dynamicSchedules"] = [{"id": "digest", "jobs": []}]

    diff = document_diff(before, after)

    assert diff["jobs"] == {
        "added": ["weekly-report"],
        "removed": ["daily-report"],
        "changed": {
            "disabled-cleanup": ["enabled"],
            "send-welcome-email": ["concurrencyLimit", "trigger.rule.payload.plan", "version"],
        },
    }
    assert diff["dynamicSchedules"] == {**EMPTY, "added": ["digest"]}
    assert list(diff["jobs"]["changed"]) == sorted(diff["jobs"]["changed"])
    assert document_hash(before) != document_hash(after)


def test_type_changes_count_even_when_python_says_equal():
    before = {"jobs": [{"id": "a", "enabled": True, "limit": 1}]}
    after = {"jobs": [{"id": "a", "enabled": 1, "limit": 1.0}]}
    assert document_diff(before, after)["jobs"]["changed"] == {"a": ["enabled", "limit"]}


def test_missing_optional_collections_are_empty():
    basic = load("basic")
    older = {key: value for key, value in basic.items() if key not in ("webhooks", "httpEndpoints")}
    assert document_diff(older, basic) == {name: EMPTY for name in COLLECTIONS}
