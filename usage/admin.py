"""Staff read usage here; ingestion is its only writer. The usage panel of the dashboard (quota alerts
of the last day) and the usage section of the customer page (the last 30 days against the plan)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from centrali import console
from centrali.admin import ReadOnlyAdminMixin
from usage.console import quota_alerts_since, usage_charts
from usage.models import DailyUsage, QuotaAlert, UsageEvent

RECENT_ALERTS = timedelta(days=1)
# The usage of a workspace is for whoever looks after the customer.
USAGE_VIEWERS = ("usage.view_dailyusage", "support.view_supportissue", "billing.view_workspacebilling")


class RecentAlertFilter(admin.SimpleListFilter):
    title = "raised"
    parameter_name = "raised"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("1d", "In the last day"), ("7d", "In the last 7 days")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[QuotaAlert]) -> QuerySet[QuotaAlert]:
        days = {"1d": 1, "7d": 7}.get(self.value() or "")
        return queryset.filter(created_at__gte=timezone.now() - timedelta(days=days)) if days else queryset


@admin.register(DailyUsage)
class DailyUsageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("workspace", "metric", "day", "value", "last_event_at")
    list_filter = ("metric",)
    search_fields = ("workspace__slug",)
    date_hierarchy = "day"
    list_select_related = ("workspace",)


@admin.register(UsageEvent)
class UsageEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("event_id", "workspace", "metric", "value", "occurred_at", "source")
    list_filter = ("metric", "source")
    search_fields = ("event_id", "workspace__slug")
    list_select_related = ("workspace",)


@admin.register(QuotaAlert)
class QuotaAlertAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "workspace",
        "limit",
        "threshold",
        "period_start",
        "used",
        "limit_value",
        "created_at",
        "emailed_at",
    )
    list_filter = (RecentAlertFilter, "threshold", "limit")
    search_fields = ("workspace__slug",)
    list_select_related = ("workspace",)


def _usage_panel() -> console.Panel:
    count = quota_alerts_since(since=timezone.now() - RECENT_ALERTS)
    return console.Panel(
        title="Usage",
        key="usage",
        tiles=[
            console.Tile(
                label="Quota alerts, last day",
                count=count,
                url=reverse("admin:usage_quotaalert_changelist") + "?raised=1d",
                alert=count > 0,
            )
        ],
    )


def _usage_section(workspace: Any) -> console.Section:
    return console.Section(
        title="Usage, last 30 days, against the plan's limits",
        template="admin/console/section_usage.html",
        key="usage",
        context={"charts": usage_charts(workspace=workspace, today=timezone.now().date())},
    )


console.register_panel(_usage_panel, permission="usage.view_quotaalert", order=40)
console.register_customer_section(_usage_section, permission=USAGE_VIEWERS, order=40)
