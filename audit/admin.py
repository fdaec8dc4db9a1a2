from django.contrib import admin

from audit.events import EVENT_TYPES
from audit.models import AuditEvent


class EventTypeFilter(admin.SimpleListFilter):
    """Choices from the registry: a DISTINCT over millions of rows on every page load is not affordable."""

    title = "type"
    parameter_name = "type"

    def lookups(self, request, model_admin):
        return sorted(EVENT_TYPES.items())

    def queryset(self, request, queryset):
        return queryset.filter(type=self.value()) if self.value() else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: nobody adds, changes or deletes audit events, staff included."""

    list_display = ("id", "created_at", "workspace", "type", "resource_type", "resource_id", "actor_type", "summary")
    list_filter = ("actor_type", EventTypeFilter)
    search_fields = ("=workspace__slug", "=resource_id", "=actor_id", "=request_id", "summary")
    list_select_related = ("workspace",)
    show_full_result_count = False  # a COUNT(*) over millions of rows on every page is not worth it
    ordering = ("-id",)

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
