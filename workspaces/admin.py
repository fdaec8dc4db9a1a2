"""The staff console of the workspaces app. Admin pages act as the signed-in staff user
(centrali.context), so the services the actions call audit them as staff."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from centrali.admin import NoAddOrDeleteAdminMixin, ReadOnlyAdminMixin
from centrali.errors import DomainError
from workspaces import services
from workspaces.models import ExportJob, Membership, PurgedWorkspace, ServiceProvisioning, User, Workspace

_Row = TypeVar("_Row", bound=Model)


def _apply(
    model_admin: admin.ModelAdmin[_Row],
    request: HttpRequest,
    rows: Iterable[_Row],
    action: Callable[[_Row], object],
    *,
    done: str | None = None,
) -> int:
    """Run `action` on each row, reporting a row the service refused with its message (and, given
    `done`, each row that went through); returns how many went through."""
    succeeded = 0
    for row in rows:
        try:
            action(row)
        except DomainError as exc:
            model_admin.message_user(request, f"{row}: {exc.message}", messages.ERROR)
        else:
            succeeded += 1
            if done:
                model_admin.message_user(request, f"{row}: {done}", messages.SUCCESS)
    return succeeded


@admin.register(User)
class CentraliUserAdmin(UserAdmin):
    list_display = ("username", "email", "is_staff", "date_joined")
    search_fields = ("username", "email")


class MembershipInline(ReadOnlyAdminMixin, admin.TabularInline):
    """Shown, not edited: membership changes belong to the IAM flows, and each must be audited."""

    model = Membership
    extra = 0
    fields = ("user", "role", "created_at")
    readonly_fields = fields


class ServiceProvisioningInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ServiceProvisioning
    extra = 0
    fields = ("service", "status", "attempts", "last_error", "ready_at", "updated_at")
    readonly_fields = fields


@admin.register(Workspace)
class WorkspaceAdmin(NoAddOrDeleteAdminMixin, admin.ModelAdmin):
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

    @admin.display(ordering="owner__email", description="Owner email")
    def owner_email(self, workspace: Workspace) -> str:
        return workspace.owner.email

    @admin.action(description="Suspend selected workspaces")
    def suspend(self, request: HttpRequest, queryset: QuerySet[Workspace]) -> None:
        suspended = _apply(self, request, queryset, lambda workspace: services.suspend_workspace(workspace=workspace))
        self.message_user(request, f"Suspended {suspended} workspace(s).", messages.SUCCESS)

    @admin.action(description="Unsuspend selected workspaces")
    def unsuspend(self, request: HttpRequest, queryset: QuerySet[Workspace]) -> None:
        unsuspended = _apply(
            self, request, queryset, lambda workspace: services.unsuspend_workspace(workspace=workspace)
        )
        self.message_user(request, f"Unsuspended {unsuspended} workspace(s).", messages.SUCCESS)

    @admin.action(description="Restore selected workspaces (within their grace period)")
    def restore(self, request: HttpRequest, queryset: QuerySet[Workspace]) -> None:
        _apply(
            self, request, queryset, lambda workspace: services.restore_workspace(workspace=workspace), done="restored."
        )


@admin.register(ServiceProvisioning)
class ServiceProvisioningAdmin(NoAddOrDeleteAdminMixin, admin.ModelAdmin):
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
    def short_error(self, provisioning: ServiceProvisioning) -> str:
        return provisioning.last_error[:80]

    @admin.action(description="Retry selected failed services")
    def retry(self, request: HttpRequest, queryset: QuerySet[ServiceProvisioning]) -> None:
        _apply(
            self,
            request,
            queryset.select_related("workspace"),
            lambda provisioning: services.retry_provisioning(
                workspace=provisioning.workspace, service=provisioning.service
            ),
            done="queued again.",
        )


@admin.register(ExportJob)
class ExportJobAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "workspace", "status", "stage", "rows_done", "rows_total", "created_at", "finished_at")
    list_filter = ("status",)
    search_fields = ("workspace__slug", "id")
    list_select_related = ("workspace",)
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in ExportJob._meta.fields]


@admin.register(PurgedWorkspace)
class PurgedWorkspaceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("slug", "workspace_id", "owner_email", "restore_deadline", "purged_at")
    search_fields = ("slug", "workspace_id", "owner_email")
    date_hierarchy = "purged_at"
    readonly_fields = [field.name for field in PurgedWorkspace._meta.fields]
