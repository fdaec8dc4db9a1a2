from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin

from audit.events import ActorType
from centrali.errors import DomainError
from workspaces import services
from workspaces.models import ExportJob, Membership, PurgedWorkspace, ServiceProvisioning, User, Workspace


@admin.register(User)
class CentraliUserAdmin(UserAdmin):
    list_display = ("username", "email", "is_staff", "date_joined")
    search_fields = ("username", "email")


class MembershipInline(admin.TabularInline):
    """Shown, not edited: membership changes belong to the IAM flows, and each must be audited."""

    model = Membership
    extra = 0
    can_delete = False
    fields = ("user", "role", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class ServiceProvisioningInline(admin.TabularInline):
    model = ServiceProvisioning
    extra = 0
    can_delete = False
    fields = ("service", "status", "attempts", "last_error", "ready_at", "updated_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "owner_email", "plan", "status", "restore_deadline", "created_at")
    list_filter = ("status", "plan")
    search_fields = ("slug", "name", "owner__email")
    list_select_related = ("owner", "plan")
    # Staff change a workspace only through the actions below, which go through the services
    # and write a staff audit event; the form is read-only and deletion is the purge's alone
    # (on PostgreSQL the audit trigger would refuse a cascade from here anyway).
    readonly_fields = (
        "id",
        "name",
        "slug",
        "description",
        "owner",
        "plan",
        "status",
        "deleted_at",
        "restore_deadline",
        "created_at",
        "updated_at",
    )
    inlines = [MembershipInline, ServiceProvisioningInline]
    actions = ["suspend", "unsuspend", "restore"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

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
            except DomainError as exc:
                self.message_user(request, f"{workspace.slug}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{workspace.slug}: restored.", messages.SUCCESS)


@admin.register(ServiceProvisioning)
class ServiceProvisioningAdmin(admin.ModelAdmin):
    list_display = ("workspace", "service", "status", "attempts", "short_error", "updated_at")
    list_filter = ("status", "service")
    search_fields = ("workspace__slug", "service")
    list_select_related = ("workspace",)
    readonly_fields = (
        "workspace",
        "service",
        "status",
        "attempts",
        "last_error",
        "ready_at",
        "created_at",
        "updated_at",
    )
    actions = ["retry"]

    @admin.display(description="Last error")
    def short_error(self, provisioning):
        return provisioning.last_error[:80]

    @admin.action(description="Retry selected failed services")
    def retry(self, request, queryset):
        for provisioning in queryset.select_related("workspace"):
            try:
                services.retry_provisioning(
                    workspace=provisioning.workspace,
                    service=provisioning.service,
                    actor=request.user,
                    actor_type=ActorType.STAFF,
                )
            except DomainError as exc:
                self.message_user(request, f"{provisioning}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{provisioning}: queued again.", messages.SUCCESS)

    def has_add_permission(self, request):
        return False


@admin.register(ExportJob)
class ExportJobAdmin(admin.ModelAdmin):
    list_display = ("id", "workspace", "status", "stage", "rows_done", "rows_total", "created_at", "finished_at")
    list_filter = ("status",)
    search_fields = ("workspace__slug", "id")
    list_select_related = ("workspace",)
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in ExportJob._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(PurgedWorkspace)
class PurgedWorkspaceAdmin(admin.ModelAdmin):
    list_display = ("slug", "workspace_id", "owner_email", "restore_deadline", "purged_at")
    search_fields = ("slug", "workspace_id", "owner_email")
    date_hierarchy = "purged_at"
    readonly_fields = [field.name for field in PurgedWorkspace._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
