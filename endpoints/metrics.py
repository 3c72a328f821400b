"""Kongflow's own Prometheus metrics. Labels are low-cardinality: never ids or URLs."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

endpointapi_requests = Counter(
    "kongflow_endpointapi_requests_total", "Requests sent to endpoints.", ["action", "outcome"]
)
endpointapi_duration = Histogram(
    "kongflow_endpointapi_request_duration_seconds",
    "Duration of requests sent to endpoints.",
    ["action"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
endpoint_indexes = Counter("kongflow_endpoint_indexes_total", "Finished endpoint indexes.", ["source", "status"])
endpoint_index_duration = Histogram(
    "kongflow_endpoint_index_duration_seconds",
    "Time from claiming an index to its final status.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
endpoint_index_requests = Counter(
    "kongflow_endpoint_index_requests_total",
    "Index requests, by whether they created or joined a run.",
    ["source", "outcome"],
)
webhook_deliveries = Counter(
    "kongflow_webhook_delivery_attempts_total", "Webhook delivery attempts, by outcome.", ["outcome"]
)
webhook_slot_refusals = Counter(
    "kongflow_webhook_slot_refusals_total",
    "Webhook drains that found no free slot and were left to the sweeper, by the limit reached (environment, url).",
    ["limit"],
)
endpoints_health = Gauge(
    "kongflow_endpoints",
    "Endpoints by health state (HEALTHY, DEGRADED, FAILING, DISABLED, …), read from the database at scrape time.",
    ["health"],
    multiprocess_mode="mostrecent",
)
housekeeping_last_run = Gauge(
    "kongflow_housekeeping_last_run_timestamp_seconds",
    "When each housekeeping task (sweeper, recurring index, purge) last finished, from the database.",
    ["task"],
    multiprocess_mode="max",
)
housekeeping_overdue = Gauge(
    "kongflow_housekeeping_overdue",
    "1 when a housekeeping task has not finished for longer than twice its interval (is beat running?).",
    ["task"],
    multiprocess_mode="mostrecent",
)
alert_notifications = Counter(
    "kongflow_alert_notifications_total",
    "Alert notification attempts, by channel type and outcome (sent, retry, failed, suppressed).",
    ["channel_type", "outcome"],
)

# Read from the database when /metrics is scraped (kongflow.health): the same value from every web
# process, so a dashboard or autoscaler may take any of them (max, not sum, across processes).
work_backlog_depth = Gauge(
    "kongflow_work_backlog",
    "Work due and not yet taken, by kind: index runs PENDING and due, webhook deliveries due (scale workers on it).",
    ["kind"],
    multiprocess_mode="mostrecent",
)
work_backlog_oldest_age = Gauge(
    "kongflow_work_backlog_oldest_age_seconds",
    "How long the oldest due item of each kind (index, webhooks) has waited; 0 when there is none.",
    ["kind"],
    multiprocess_mode="mostrecent",
)

# Counters with a fixed set of label values start at 0 (also in a worker's multiprocess export), so
# that rate() and the alert rules see them before the first event, not only after it.
for _outcome in ("delivered", "failed"):
    webhook_deliveries.labels(_outcome)
for _limit in ("environment", "url"):
    webhook_slot_refusals.labels(_limit)
