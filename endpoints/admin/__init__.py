"""The operators' console: one module per page (endpoints, runs, jobs, overview, add endpoint, events),
shared renderers in `widgets`. Every action calls a service; reads go through `endpoints.console`."""

from django.contrib import admin

from . import alerts, endpoints, environments, events, jobs, overview, runs, tenancy

admin.site.index_template = "admin/kongflow_index.html"
admin.site.site_header = "Kongflow operators' console"
admin.site.site_title = "Kongflow"
# "View site": Kongflow has no public site of its own; its API documentation is the next best thing.
admin.site.site_url = "/api/docs"

__all__ = ["alerts", "endpoints", "environments", "events", "jobs", "overview", "runs", "tenancy"]
