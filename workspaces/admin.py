from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin

from audit.events import ActorType
from centrali.api.errors import ApiError
from workspaces import services
from workspaces.models import Membership, User, Workspace


@admin.register(User)
class CentraliUserAdmin(UserAdmin):
    list_display = ("username", "email", "is_staff", "date_joined")
    search_fields = ("username", "email")


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)
    fields = ("user", "role", "created_at")
    readonly_fields = ("created_at",)


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "owner_email", "plan", "status", "restore_deadline", "created_at")
    list_filter = ("status", "plan")
    search_fields = ("slug", "name", "owner__email")
    list_select_related = ("owner", "plan")
    readonly_fields = ("id", "status", "deleted_at", "restore_deadline", "created_at", "updated_at")
    autocomplete_fields = ("owner",)
    inlines = [MembershipInline]
    actions = ["suspend", "unsuspend", "restore"]

    @admin.display(ordering="owner__email", description="Owner email")
    def owner_email(self, workspace):
        return workspace.owner.email

    @admin.action(description="Suspend selected workspaces")
    def suspend(self, request, queryset):
        for workspace in queryset:
            services.suspend_workspace(workspace=workspace, actor=request.user, actor_type=ActorType.STAFF)
        self.message_user(request, f"Suspended {queryset.count()} workspace(s).", messages.SUCCESS)

    @admin.action(description="Unsuspend selected workspaces")
    def unsuspend(self, request, queryset):
        for workspace in queryset:
            services.unsuspend_workspace(workspace=workspace, actor=request.user, actor_type=ActorType.STAFF)
        self.message_user(request, f"Unsuspended {queryset.count()} workspace(s).", messages.SUCCESS)

    @admin.action(description="Restore selected workspaces (within their grace period)")
    def restore(self, request, queryset):
        for workspace in queryset:
            try:
                services.restore_workspace(workspace=workspace, actor=request.user, actor_type=ActorType.STAFF)
            except ApiError as exc:
                self.message_user(request, f"{workspace.slug}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{workspace.slug}: restored.", messages.SUCCESS)
