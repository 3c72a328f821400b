"""The overview page (linked from the admin index as "Overview"): health, runs, failures, backlog,
housekeeping, and a server-rendered SVG chart of the last 24 hours (no JavaScript, no CDN)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from endpoints.console import overview_get
from endpoints.models import EndpointHealth, IndexStatus
from endpoints.services.run_hours import HourStats

from .widgets import age

COLORS = {
    IndexStatus.SUCCESS: "#2e7d32",
    IndexStatus.FAILURE: "#c62828",
    IndexStatus.STARTED: "#1565c0",
    IndexStatus.PENDING: "#90a4ae",
}
WIDTH, HEIGHT, PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 760, 220, 40, 50, 12, 28


def runs_chart(hours: list[HourStats]) -> SafeString:
    """Stacked bars of runs per hour by status (left axis) and p50/p95 duration lines (right axis).

    Built from numbers and fixed labels only (every text is escaped), so it is safe to mark safe.
    """
    plot_w, plot_h = WIDTH - PAD_LEFT - PAD_RIGHT, HEIGHT - PAD_TOP - PAD_BOTTOM
    slot = plot_w / max(len(hours), 1)
    max_runs = max([sum(h.by_status().values()) for h in hours] + [1])
    max_seconds = max([h.p95 or 0 for h in hours] + [0.001])
    bottom = PAD_TOP + plot_h
    parts: list[str] = []
    for i, hour in enumerate(hours):
        x = PAD_LEFT + i * slot + 2
        y = float(bottom)
        hour_label = f"{timezone.localtime(hour.start):%H}"
        counts = hour.by_status()
        for status in (IndexStatus.SUCCESS, IndexStatus.FAILURE, IndexStatus.STARTED, IndexStatus.PENDING):
            n = counts.get(status, 0)
            if not n:
                continue
            h = plot_h * n / max_runs
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot - 4:.1f}" height="{h:.1f}" fill="{COLORS[status]}">'
                f"<title>{hour_label}:00 {n} {escape(status)}</title></rect>"
            )
        if i % 3 == 0:
            parts.append(f'<text x="{x:.1f}" y="{HEIGHT - 10}" class="kf-axis">{hour_label}h</text>')
    for key, color, dash in (("p50", "#6a1b9a", "none"), ("p95", "#ef6c00", "4 3")):
        points = [
            f"{PAD_LEFT + (i + 0.5) * slot:.1f},{bottom - plot_h * value / max_seconds:.1f}"
            for i, hour in enumerate(hours)
            if (value := getattr(hour, key)) is not None
        ]
        if points:
            parts.append(
                f'<polyline class="kf-{key}" points="{" ".join(points)}" fill="none" stroke="{color}" '
                f'stroke-width="2" stroke-dasharray="{dash}"/>'
            )
    right = WIDTH - PAD_RIGHT
    parts.append(
        f'<line x1="{PAD_LEFT}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#999"/>'
        f'<text x="4" y="{PAD_TOP + 8}" class="kf-axis">{max_runs} runs</text>'
        f'<text x="4" y="{bottom}" class="kf-axis">0</text>'
        f'<text x="{right + 4}" y="{PAD_TOP + 8}" class="kf-axis">{max_seconds:.2f} s</text>'
        f'<text x="{right + 4}" y="{bottom}" class="kf-axis">0 s</text>'
    )
    legend = [(COLORS[status], status.lower()) for status in COLORS]
    legend += [("#6a1b9a", "p50 duration"), ("#ef6c00", "p95 duration")]
    parts.append(
        f'<text x="{PAD_LEFT}" y="{HEIGHT + 12}" class="kf-axis">'
        + "".join(f'<tspan fill="{color}">&#9632; {escape(label)}</tspan> ' for color, label in legend)
        + "</text>"
    )
    svg = (
        f'<svg class="kf-chart" viewBox="0 0 {WIDTH} {HEIGHT + 16}" width="{WIDTH}" height="{HEIGHT + 16}" '
        f'role="img" aria-label="Index runs per hour by status, p50 and p95 duration">{"".join(parts)}</svg>'
    )
    return mark_safe(svg)  # noqa: S308 - numbers and escaped fixed labels only


def overview_view(request: HttpRequest) -> HttpResponse:
    data = overview_get()
    health_rows = [
        (EndpointHealth(value).label, value, data.endpoints_by_health.get(value, 0))
        for value in (
            EndpointHealth.DISABLED,
            EndpointHealth.FAILING,
            EndpointHealth.DEGRADED,
            EndpointHealth.HEALTHY,
            EndpointHealth.NEVER_INDEXED,
            EndpointHealth.DELETED,
        )
    ]
    context = {
        **admin.site.each_context(request),
        "title": "Overview",
        "overview": data,
        "health_rows": health_rows,
        "chart": runs_chart(data.hours),
        "oldest_pending_age": age(data.oldest_pending_at, now=data.now) if data.oldest_pending_at else None,
        "housekeeping": [
            {
                "task": status.task.removeprefix("endpoints.").replace("_", " "),
                "last_run": age(status.last_finished_at, now=data.now) if status.last_finished_at else None,
                "overdue": status.overdue,
                "error": status.last_error,
            }
            for status in data.housekeeping
        ],
    }
    return TemplateResponse(request, "admin/endpoints/overview.html", context)
