"""Staff read usage here; ingestion is its only writer."""

from django.contrib import admin

from centrali.admin import ReadOnlyAdminMixin
from usage.models import DailyUsage, QuotaAlert, UsageEvent


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
    list_display = ("workspace", "limit", "threshold", "period_start", "used", "limit_value", "emailed_at")
    list_filter = ("threshold", "limit")
    search_fields = ("workspace__slug",)
    list_select_related = ("workspace",)
