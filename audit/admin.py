from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from audit.events import EVENT_TYPES
from audit.models import AuditEvent
from centrali.admin import ReadOnlyAdminMixin


class EventTypeFilter(admin.SimpleListFilter):
    """Choices from the registry: a DISTINCT over millions of rows on every page load is not affordable."""

    title = "type"
    parameter_name = "type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return sorted(EVENT_TYPES.items())

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        return queryset.filter(type=self.value()) if self.value() else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Nobody adds, changes or deletes audit events, staff included: the admin shows them read-only."""

    list_display = ("id", "created_at", "workspace", "type", "resource_type", "resource_id", "actor_type", "summary")
    list_filter = ("actor_type", EventTypeFilter)
    search_fields = ("=workspace__slug", "=resource_id", "=actor_id", "=request_id", "summary")
    list_select_related = ("workspace",)
    show_full_result_count = False  # a COUNT(*) over millions of rows on every page is not worth it
    ordering = ("-id",)
