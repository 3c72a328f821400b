"""The overview page (linked from the admin index as "Overview"): health, runs, failures, backlog,
housekeeping, and a server-rendered SVG chart of the last 24 hours (no JavaScript, no CDN)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from endpoints.console import HourBucket, overview_get
from endpoints.models import EndpointHealth, IndexStatus

from .widgets import age

COLORS = {
    IndexStatus.SUCCESS: "#2e7d32",
    IndexStatus.FAILURE: "#c62828",
    IndexStatus.STARTED: "#1565c0",
    IndexStatus.PENDING: "#90a4ae",
}
WIDTH, HEIGHT, PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 760, 220, 40, 50, 12, 28


def runs_chart(hours: list[HourBucket]) -> SafeString:
    """Stacked bars of runs per hour by status (left axis) and p50/p95 duration lines (right axis)."""
    plot_w, plot_h = WIDTH - PAD_LEFT - PAD_RIGHT, HEIGHT - PAD_TOP - PAD_BOTTOM
    slot = plot_w / max(len(hours), 1)
    max_runs = max([sum(h.counts.values()) for h in hours] + [1])
    max_seconds = max([h.p95 or 0 for h in hours] + [0.001])
    parts: list[str] = []
    for i, hour in enumerate(hours):
        x = PAD_LEFT + i * slot + 2
        y = PAD_TOP + plot_h
        for status in (IndexStatus.SUCCESS, IndexStatus.FAILURE, IndexStatus.STARTED, IndexStatus.PENDING):
            n = hour.counts.get(status, 0)
            if not n:
                continue
            h = plot_h * n / max_runs
            y -= h
            parts.append(
                format_html(
                    '<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="{}">'
                    "<title>{:%H}:00 {} {}</title></rect>",
                    x,
                    y,
                    slot - 4,
                    h,
                    COLORS[status],
                    timezone.localtime(hour.start),
                    n,
                    status,
                )
            )
        if i % 3 == 0:
            parts.append(
                format_html(
                    '<text x="{:.1f}" y="{}" class="kf-axis">{:%H}h</text>',
                    x,
                    HEIGHT - 10,
                    timezone.localtime(hour.start),
                )
            )
    for key, color, dash in (("p50", "#6a1b9a", ""), ("p95", "#ef6c00", "4 3")):
        points = [
            f"{PAD_LEFT + (i + 0.5) * slot:.1f},{PAD_TOP + plot_h - plot_h * value / max_seconds:.1f}"
            for i, hour in enumerate(hours)
            if (value := getattr(hour, key)) is not None
        ]
        if points:
            parts.append(
                format_html(
                    '<polyline points="{}" fill="none" stroke="{}" stroke-width="2" stroke-dasharray="{}"/>',
                    " ".join(points),
                    color,
                    dash,
                )
            )
    axes = format_html(
        '<line x1="{l}" y1="{b}" x2="{r}" y2="{b}" stroke="#999"/>'
        '<text x="4" y="{t}" class="kf-axis">{runs}</text><text x="4" y="{b}" class="kf-axis">0</text>'
        '<text x="{r2}" y="{t}" class="kf-axis">{secs}</text><text x="{r2}" y="{b}" class="kf-axis">0 s</text>',
        l=PAD_LEFT,
        r=WIDTH - PAD_RIGHT,
        b=PAD_TOP + plot_h,
        t=PAD_TOP + 8,
        r2=WIDTH - PAD_RIGHT + 4,
        runs=f"{max_runs} runs",
        secs=f"{max_seconds:.2f} s",
    )
    legend = format_html_join(
        "",
        '<tspan fill="{}">■ {}</tspan> ',
        [(COLORS[s], s.lower()) for s in COLORS] + [("#6a1b9a", "p50 duration"), ("#ef6c00", "p95 duration")],
    )
    return format_html(
        '<svg class="kf-chart" viewBox="0 0 {} {}" width="{}" height="{}" role="img" '
        'aria-label="Index runs per hour by status, p50 and p95 duration">{}{}'
        '<text x="{}" y="{}" class="kf-axis">{}</text></svg>',
        WIDTH,
        HEIGHT + 16,
        WIDTH,
        HEIGHT + 16,
        axes,
        mark_safe("".join(parts)),  # noqa: S308 - format_html output
        PAD_LEFT,
        HEIGHT + 12,
        legend,
    )


def overview_view(request: HttpRequest) -> HttpResponse:
    data = overview_get()
    health_rows = [
        (EndpointHealth(value).label, value, data.endpoints_by_health.get(value, 0))
        for value in (
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
        "housekeeping": {
            key: (age(value, now=data.now) if value else None)
            for key, value in data.housekeeping.items()
            if key != "recorded"
        },
        "housekeeping_recorded": data.housekeeping.get("recorded"),
    }
    return TemplateResponse(request, "admin/endpoints/overview.html", context)
