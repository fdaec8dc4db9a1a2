"""The audit log in the staff console: a read-only list that fits a 1400 px screen and filters by
date, and the recent events on each workspace's customer page."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import Truncator

from audit.events import EVENT_TYPES
from audit.models import AuditEvent
from audit.selectors import recent_activity
from centrali import console
from centrali.admin import ReadOnlyAdminMixin

SUMMARY_SHOWN = 90  # characters of the summary in the list; the change page has it whole
AUDIT_VIEWERS = ("audit.view_auditevent", "support.view_supportissue", "billing.view_workspacebilling")


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
    """Nobody adds, changes or deletes audit events, staff included: the admin shows them read-only.

    Five narrow columns (the resource and the full summary are on the event's page) so the list fits
    1400 px; "created at" filters by date without a DISTINCT over the table (no date hierarchy)."""

    list_display = ("created", "workspace_link", "type", "actor", "short_summary")
    list_display_links = ("created",)
    list_filter = ("created_at", "actor_type", EventTypeFilter)
    search_fields = ("=workspace__slug", "=resource_id", "=actor_id", "=request_id", "summary")
    list_select_related = ("workspace",)
    show_full_result_count = False  # a COUNT(*) over millions of rows on every page is not worth it
    ordering = ("-id",)

    @admin.display(description="When", ordering="created_at")
    def created(self, event: AuditEvent) -> str:
        return f"{event.created_at:%Y-%m-%d %H:%M:%S}"

    @admin.display(description="Workspace", ordering="workspace__slug")
    def workspace_link(self, event: AuditEvent) -> str:
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:workspaces_workspace_change", args=[event.workspace_id]),
            event.workspace,
        )

    @admin.display(description="Actor", ordering="actor_type")
    def actor(self, event: AuditEvent) -> str:
        return f"{event.actor_type} {event.actor_id[:8]}" if event.actor_id else event.actor_type

    @admin.display(description="Summary")
    def short_summary(self, event: AuditEvent) -> str:
        return Truncator(event.summary).chars(SUMMARY_SHOWN)


def _audit_section(workspace: Any) -> console.Section:
    return console.Section(
        title="Recent audit events",
        template="admin/console/section_audit.html",
        key="audit",
        context={"events": recent_activity(workspace=workspace, limit=15)},
        links=[("Audit log", reverse("admin:audit_auditevent_changelist") + f"?workspace__id__exact={workspace.pk}")],
    )


console.register_customer_section(_audit_section, permission=AUDIT_VIEWERS, order=90)
