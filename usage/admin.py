from django.contrib import admin

from usage.models import DailyUsage, QuotaAlert, UsageEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    """Usage is written by ingestion only; staff read it here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DailyUsage)
class DailyUsageAdmin(ReadOnlyAdmin):
    list_display = ("workspace", "metric", "day", "value", "last_event_at")
    list_filter = ("metric",)
    search_fields = ("workspace__slug",)
    date_hierarchy = "day"
    list_select_related = ("workspace",)


@admin.register(UsageEvent)
class UsageEventAdmin(ReadOnlyAdmin):
    list_display = ("event_id", "workspace", "metric", "value", "occurred_at", "source")
    list_filter = ("metric", "source")
    search_fields = ("event_id", "workspace__slug")
    list_select_related = ("workspace",)


@admin.register(QuotaAlert)
class QuotaAlertAdmin(ReadOnlyAdmin):
    list_display = ("workspace", "limit", "threshold", "period_start", "used", "limit_value", "emailed_at")
    list_filter = ("threshold", "limit")
    search_fields = ("workspace__slug",)
    list_select_related = ("workspace",)
