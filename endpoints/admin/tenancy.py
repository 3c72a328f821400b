"""Organizations and projects: plain lists."""

from __future__ import annotations

from django.contrib import admin

from endpoints.models import Organization, Project


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("slug", "title", "created_at", "deleted_at")
    search_fields = ("slug", "title")


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "organization", "created_at", "deleted_at")
    list_select_related = ("organization",)
    search_fields = ("slug", "name")
    raw_id_fields = ("organization",)
