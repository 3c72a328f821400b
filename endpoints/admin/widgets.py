"""Small renderers shared by the console's pages: badges, ages, JSON, diffs, errors, the inspector."""

from __future__ import annotations

import json
import shlex
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from endpoints.models import Endpoint, EndpointHealth, IndexStatus

BADGE_TONES = {
    EndpointHealth.HEALTHY: "ok",
    EndpointHealth.DEGRADED: "warn",
    EndpointHealth.FAILING: "bad",
    EndpointHealth.NEVER_INDEXED: "muted",
    EndpointHealth.DELETED: "muted",
    IndexStatus.SUCCESS: "ok",
    IndexStatus.FAILURE: "bad",
    IndexStatus.PENDING: "info",
    IndexStatus.STARTED: "info",
    "ACTIVE": "ok",
    "DISABLED": "muted",
}


def badge(label: str, tone: str | None = None, *, title: str = "") -> SafeString:
    tone = tone or BADGE_TONES.get(label, "muted")
    return format_html('<span class="kf-badge kf-{}" title="{}">{}</span>', tone, title, label)


def age(when: datetime | None, *, now: datetime | None = None) -> str:
    """`3 min ago`, `2 h ago`, `5 d ago`; `—` for never."""
    if when is None:
        return "—"
    seconds = max(0, int(((now or timezone.now()) - when).total_seconds()))
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} d ago"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def health_badge(endpoint: Endpoint) -> SafeString:
    """The health badge with its detail: `failing since 10:02 (4 failures)`."""
    state = endpoint.health_state
    label = EndpointHealth(state).label
    if state == EndpointHealth.FAILING and endpoint.failing_since:
        since = timezone.localtime(endpoint.failing_since).strftime("%Y-%m-%d %H:%M")
        n = endpoint.consecutive_failures
        return badge(f"failing since {since} · {n} failure{'s' if n != 1 else ''}", "bad")
    if state == EndpointHealth.DISABLED:
        n = endpoint.consecutive_failures
        since = f" since {timezone.localtime(endpoint.disabled_at):%Y-%m-%d %H:%M}" if endpoint.disabled_at else ""
        title = "No recurring index, deploy hooks refused: Enable, register again or reindex successfully."
        return badge(f"disabled{since} · {n} failures", "bad", title=title)
    if state == EndpointHealth.DEGRADED:
        return badge(label, title=f"{endpoint.consecutive_failures} failure(s) since the last success")
    return badge(label, BADGE_TONES.get(state))


def warnings_list(warnings: list[dict[str, Any]] | None) -> SafeString:
    """A run's warnings (what the registry ignored), one line each: the code, then its details."""
    if not warnings:
        return mark_safe("—")
    rows = format_html_join(
        "",
        "<li>{} {}</li>",
        (
            (
                badge(str(item.get("code", "?")), "warn"),
                " · ".join(f"{key}: {_plain(value)}" for key, value in item.items() if key != "code"),
            )
            for item in warnings
        ),
    )
    return format_html('<ul class="kf-compact" id="kf-warnings">{}</ul>', rows)


def _plain(value: Any) -> str:
    return ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)


def pretty_json(value: Any, *, summary: str = "JSON", open_: bool = False) -> SafeString:
    """Pretty-printed JSON in a collapsed block."""
    if value is None:
        return mark_safe("—")
    text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)
    return format_html(
        '<details class="kf-json"{}><summary>{} ({} lines)</summary><pre>{}</pre></details>',
        " open" if open_ else "",
        summary,
        text.count("\n") + 1,
        text,
    )


DIFF_TITLES = {
    "jobs": "Jobs",
    "sources": "Sources",
    "dynamicTriggers": "Dynamic triggers",
    "dynamicSchedules": "Dynamic schedules",
    "httpEndpoints": "HTTP endpoints",
    "webhooks": "Webhooks",
}


def diff_table(diff: dict[str, Any] | None) -> SafeString:
    """A diff (`services.diff.document_diff`) as added / removed / changed lists per collection."""
    if not diff:
        return mark_safe('<p class="kf-muted">No diff recorded.</p>')
    rows = []
    for collection, title in DIFF_TITLES.items():
        part = diff.get(collection) or {}
        added, removed, changed = part.get("added") or [], part.get("removed") or [], part.get("changed") or {}
        if not (added or removed or changed):
            continue
        items = [format_html('<li class="kf-added">+ {}</li>', key) for key in added]
        items += [format_html('<li class="kf-removed">- {}</li>', key) for key in removed]
        items += [
            format_html('<li class="kf-changed">~ {} <span class="kf-muted">({})</span></li>', key, ", ".join(paths))
            for key, paths in changed.items()
        ]
        body = mark_safe("".join(items))  # noqa: S308 - format_html output
        rows.append(format_html('<h4>{}</h4><ul class="kf-diff">{}</ul>', title, body))
    if not rows:
        return mark_safe('<p class="kf-muted">No change since the previous index.</p>')
    return mark_safe("".join(rows))  # noqa: S308 - format_html output


def error_block(error: dict[str, Any] | None) -> SafeString:
    """An index error: code, the message with one line per problem, the hint, the raw body collapsed."""
    if not error:
        return mark_safe("—")
    lines = [line for line in str(error.get("message", "")).splitlines() if line.strip()]
    head, problems = (lines[0], lines[1:]) if lines else ("", [])
    problems = [line.lstrip("- ").strip() for line in problems]
    problem_list = (
        format_html('<ul class="kf-problems">{}</ul>', format_html_join("", "<li>{}</li>", ((p,) for p in problems)))
        if problems
        else ""
    )
    raw = error.get("raw")
    raw_block = (
        format_html('<details class="kf-json"><summary>Raw body</summary><pre>{}</pre></details>', _pretty_raw(raw))
        if raw
        else ""
    )
    return format_html(
        '<div class="kf-error"><p>{} <strong class="kf-error-message">{}</strong></p>{}'
        '<p class="kf-hint"><strong>Hint:</strong> {}</p>{}</div>',
        badge(str(error.get("code", "ERROR")), "bad"),
        head,
        problem_list,
        error.get("hint") or "—",
        raw_block,
    )


def _pretty_raw(raw: str) -> str:
    try:
        return json.dumps(json.loads(raw), indent=2, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(raw)


def curl_command(exchange: dict[str, Any]) -> str:
    """`curl` that reproduces the request, with `$TRIGGER_API_KEY` in place of the key."""
    parts = ["curl -i -X", exchange.get("method", "POST"), shlex.quote(exchange.get("url", ""))]
    request = exchange.get("request") or {}
    for name, value in (request.get("headers") or {}).items():
        if name.lower() == "x-trigger-api-key":
            parts.append(f'-H "{name}: $TRIGGER_API_KEY"')
        else:
            parts.append("-H " + shlex.quote(f"{name}: {value}"))
    if request.get("body"):
        parts.append("--data-raw " + shlex.quote(request["body"]))
    return " \\\n  ".join([" ".join(parts[:3]), *parts[3:]])


def exchange_block(exchange: dict[str, Any] | None) -> SafeString:
    """The failure inspector: the request made and the response received, and `copy as curl`."""
    if not exchange:
        return mark_safe('<p class="kf-muted">No HTTP exchange was recorded for this failure.</p>')
    request = exchange.get("request") or {}
    response = exchange.get("response")
    req_headers = format_html_join(
        "", "<tr><th>{}</th><td><code>{}</code></td></tr>", (request.get("headers") or {}).items()
    )
    if response:
        resp_headers = format_html_join(
            "", "<tr><th>{}</th><td><code>{}</code></td></tr>", (response.get("headers") or {}).items()
        )
        response_html = format_html(
            '<h4>Response {} <span class="kf-muted">in {} ms</span></h4>'
            '<table class="kf-kv">{}</table><pre class="kf-body">{}</pre>',
            badge(str(response.get("status")), "bad" if int(response.get("status") or 0) >= 300 else "ok"),
            exchange.get("durationMs"),
            resp_headers,
            _pretty_raw(response.get("body")) if response.get("body") else "(empty body)",
        )
    else:
        response_html = format_html(
            '<h4>No response <span class="kf-muted">after {} ms</span></h4><p>{}</p>',
            exchange.get("durationMs"),
            exchange.get("error") or "",
        )
    curl = curl_command(exchange)
    return format_html(
        '<div class="kf-inspector">'
        '<h4>Request <code>{} {}</code> <span class="kf-muted">action {}</span></h4>'
        '<table class="kf-kv">{}</table>{}'
        '<h4>Reproduce <button type="button" class="kf-copy" data-copy-target="kf-curl">Copy as curl</button></h4>'
        '<pre id="kf-curl" class="kf-curl">{}</pre></div>',
        exchange.get("method", "POST"),
        exchange.get("url"),
        exchange.get("action"),
        req_headers,
        response_html,
        curl,
    )
