"""Organizations and projects: plain lists."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin

from endpoints.models import Organization, Project

if TYPE_CHECKING:
    OrganizationBase = admin.ModelAdmin[Organization]
    ProjectBase = admin.ModelAdmin[Project]
else:
    OrganizationBase = ProjectBase = admin.ModelAdmin


@admin.register(Organization)
class OrganizationAdmin(OrganizationBase):
    list_display = ("slug", "title", "allowed_networks", "created_at", "deleted_at")
    search_fields = ("slug", "title")
    fields = ("slug", "title", "allowed_networks", "deleted_at")


@admin.register(Project)
class ProjectAdmin(ProjectBase):
    list_display = ("slug", "name", "organization", "created_at", "deleted_at")
    list_select_related = ("organization",)
    search_fields = ("slug", "name")
    raw_id_fields = ("organization",)
