"""The staff console of the workspaces app: the workspace list, each workspace's customer page, and the
staff actions (suspend, unsuspend, extend a deletion grace period, retry provisioning, re-run an export),
each asking for a reason. Admin pages act as the signed-in staff user (centrali.context), so the
services the actions call audit them as staff."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from centrali import console
from centrali.admin import NoAddOrDeleteAdminMixin, ReadOnlyAdminMixin
from centrali.errors import DomainError, InvalidInput
from centrali.formats import parse_uuid
from centrali.personal_data import email_hash, slug_hash
from workspaces import services
from workspaces.console import stuck_exports_q, workspace_figures, workspace_sections
from workspaces.models import (
    ExportJob,
    ExportStatus,
    Membership,
    ProvisioningStatus,
    PurgedWorkspace,
    ServiceProvisioning,
    User,
    Workspace,
    WorkspaceStatus,
)
from workspaces.services.lifecycle import MAX_GRACE_EXTENSION_DAYS

_Row = TypeVar("_Row", bound=Model)

# Staff who work with customers reach the workspace list and customer pages: support and billing too.
CUSTOMER_PAGE_VIEWERS = ("workspaces.view_workspace", "support.view_supportissue", "billing.view_workspacebilling")
STAFF_ACTIONS_PERMISSION = "workspaces.change_workspace"


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


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        strip=True,
        widget=forms.TextInput(attrs={"size": 80, "id": "id_reason"}),
        help_text="Recorded in the workspace's audit log with your name.",
    )


class SuspendForm(ReasonForm):
    reason = forms.CharField(
        max_length=500,
        strip=True,
        widget=forms.TextInput(attrs={"size": 80, "id": "id_reason"}),
        help_text="The workspace's members see this reason in every refused request (WORKSPACE_SUSPENDED), "
        "and the audit log records it with your name.",
    )


class GraceExtensionForm(ReasonForm):
    days = forms.IntegerField(min_value=1, max_value=MAX_GRACE_EXTENSION_DAYS, initial=14)
    field_order = ["days", "reason"]


def reason_page(
    model_admin: admin.ModelAdmin[Any],
    request: HttpRequest,
    *,
    title: str,
    form: forms.Form,
    rows: Iterable[Model],
    submit: str,
    action: str = "",
    explanation: str = "",
    back_url: str = "",
) -> TemplateResponse:
    """The intermediate page of an action that needs a reason (and maybe more): the selected rows,
    the form, and a confirm button. `action` set: posted back to the changelist as that action."""
    return TemplateResponse(
        request,
        "admin/console/reason_form.html",
        {
            **model_admin.admin_site.each_context(request),
            "title": title,
            "opts": model_admin.model._meta,
            "rows": list(rows),
            "form": form,
            "submit": submit,
            "action": action,
            "explanation": explanation,
            "back_url": back_url,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        },
    )


def _bound(form_class: type[forms.Form], request: HttpRequest) -> forms.Form:
    return form_class(request.POST if "apply" in request.POST else None)


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


class ProvisioningFailedFilter(admin.SimpleListFilter):
    title = "provisioning"
    parameter_name = "provisioning"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("failed", "A service failed")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Workspace]) -> QuerySet[Workspace]:
        if self.value() == "failed":
            return queryset.filter(provisioned_services__status=ProvisioningStatus.FAILED).distinct()
        return queryset


@admin.register(Workspace)
class WorkspaceAdmin(NoAddOrDeleteAdminMixin, admin.ModelAdmin):
    """The workspace list, and for each workspace its customer page (the change page): what every
    app knows of the customer, with the staff actions. Staff change a workspace only through those
    actions, which go through the services and write a staff audit event; deletion is the purge's
    alone (on PostgreSQL the audit trigger would refuse a cascade from here anyway)."""

    list_display = ("slug", "name", "owner_email", "plan", "status", "restore_deadline", "created_at")
    list_filter = ("status", "plan", ProvisioningFailedFilter)
    search_fields = ("slug", "name", "owner__email")
    list_select_related = ("owner", "plan")
    readonly_fields = (
        "id",
        "name",
        "slug",
        "description",
        "owner",
        "plan",
        "status",
        "suspension_reason",
        "deleted_at",
        "restore_deadline",
        "created_at",
        "updated_at",
    )
    actions = ["suspend", "unsuspend", "restore"]

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return console.may(request, CUSTOMER_PAGE_VIEWERS)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request.user.has_perm(STAFF_ACTIONS_PERMISSION)

    @admin.display(ordering="owner__email", description="Owner email")
    def owner_email(self, workspace: Workspace) -> str:
        return workspace.owner.email

    # -- the customer page

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/staff/<str:action>/",
                view(self.staff_action_view),
                name="workspaces_workspace_staff_action",
            ),
            *super().get_urls(),
        ]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        workspace = self.get_object(request, unquote(object_id))
        if workspace is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)  # type: ignore[attr-defined]
        if not self.has_view_permission(request, workspace):
            raise PermissionDenied
        own = workspace_sections(workspace=workspace)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{workspace.name} ({workspace.slug})",
            "workspace": workspace,
            "own": own,
            "sections": console.customer_sections(request, workspace),
            "can_act": self.has_change_permission(request, workspace),
            "can_change_plan": request.user.has_perm("billing.change_workspacebilling"),
            "links": _customer_links(request, workspace),
            "failed": ProvisioningStatus.FAILED,
            "export_failed": ExportStatus.FAILED,
        }
        return TemplateResponse(request, "admin/workspaces/workspace/customer_page.html", context)

    def staff_action_view(self, request: HttpRequest, object_id: str, action: str) -> HttpResponse:
        """One staff action on one workspace, from its customer page: the form, then the service."""
        workspace = get_object_or_404(Workspace.objects.select_related("plan", "owner"), pk=unquote(object_id))
        if action not in _STAFF_ACTIONS or not self.has_change_permission(request, workspace):
            raise PermissionDenied
        title, form_class, submit, run = _STAFF_ACTIONS[action]
        form = form_class(request.POST or None)
        page = reverse("admin:workspaces_workspace_change", args=[workspace.pk])
        target = request.GET.get("target", "") or request.POST.get("target", "")
        if request.method == "POST" and form.is_valid():
            try:
                done = run(request, workspace, form.cleaned_data, target)
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(request, f"{workspace.slug}: {done}", messages.SUCCESS)
                return HttpResponseRedirect(page)
        response = reason_page(
            self,
            request,
            title=f"{title}: {workspace.slug}",
            form=form,
            rows=[workspace],
            submit=submit,
            back_url=page,
        )
        response.context_data["target"] = target  # type: ignore[index]
        return response

    # -- list actions (each asks for the reason first)

    @admin.action(description="Suspend selected workspaces…", permissions=["change"])
    def suspend(self, request: HttpRequest, queryset: QuerySet[Workspace]) -> TemplateResponse | None:
        form = _bound(SuspendForm, request)
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["reason"]
            suspended = _apply(
                self, request, queryset, lambda ws: services.suspend_workspace_by_staff(workspace=ws, reason=reason)
            )
            self.message_user(request, f"Suspended {suspended} workspace(s).", messages.SUCCESS)
            return None
        return reason_page(
            self, request, title="Suspend workspaces", form=form, rows=queryset, submit="Suspend", action="suspend"
        )

    @admin.action(description="Unsuspend selected workspaces…", permissions=["change"])
    def unsuspend(self, request: HttpRequest, queryset: QuerySet[Workspace]) -> TemplateResponse | None:
        form = _bound(ReasonForm, request)
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["reason"]
            unsuspended = _apply(
                self, request, queryset, lambda ws: services.unsuspend_workspace_by_staff(workspace=ws, reason=reason)
            )
            self.message_user(request, f"Unsuspended {unsuspended} workspace(s).", messages.SUCCESS)
            return None
        return reason_page(
            self,
            request,
            title="Unsuspend workspaces",
            form=form,
            rows=queryset,
            submit="Unsuspend",
            action="unsuspend",
        )

    @admin.action(description="Restore selected workspaces (within their grace period)", permissions=["change"])
    def restore(self, request: HttpRequest, queryset: QuerySet[Workspace]) -> None:
        _apply(
            self, request, queryset, lambda workspace: services.restore_workspace(workspace=workspace), done="restored."
        )


def _suspend(request: HttpRequest, workspace: Workspace, data: dict[str, Any], target: str) -> str:
    services.suspend_workspace_by_staff(workspace=workspace, reason=data["reason"])
    return "suspended; its members are told the reason."


def _unsuspend(request: HttpRequest, workspace: Workspace, data: dict[str, Any], target: str) -> str:
    services.unsuspend_workspace_by_staff(workspace=workspace, reason=data["reason"])
    return "unsuspended."


def _extend_grace(request: HttpRequest, workspace: Workspace, data: dict[str, Any], target: str) -> str:
    workspace = services.extend_restore_deadline(workspace=workspace, days=data["days"], reason=data["reason"])
    return f"restorable until {workspace.restore_deadline:%Y-%m-%d %H:%M} UTC."


def _retry_provisioning(request: HttpRequest, workspace: Workspace, data: dict[str, Any], target: str) -> str:
    services.retry_provisioning(workspace=workspace, service=target, reason=data["reason"])
    return f"provisioning of '{target}' queued again."


def _rerun_export(request: HttpRequest, workspace: Workspace, data: dict[str, Any], target: str) -> str:
    job_id = parse_uuid(target)
    if (
        job_id is None
        or not ExportJob.objects.filter(workspace=workspace, pk=job_id, status=ExportStatus.FAILED).exists()
    ):
        raise InvalidInput("Only a failed export of this workspace can be re-run.", code="EXPORT_NOT_FAILED")
    job = services.request_export(
        workspace=workspace, actor=request.user if isinstance(request.user, User) else None, reason=data["reason"]
    )
    return f"export re-run as job {job.pk}."


_STAFF_ACTIONS: dict[
    str, tuple[str, type[forms.Form], str, Callable[[HttpRequest, Workspace, dict[str, Any], str], str]]
] = {
    "suspend": ("Suspend", SuspendForm, "Suspend the workspace", _suspend),
    "unsuspend": ("Unsuspend", ReasonForm, "Unsuspend the workspace", _unsuspend),
    "extend-grace": ("Extend the deletion grace period", GraceExtensionForm, "Extend", _extend_grace),
    "retry-provisioning": ("Retry provisioning", ReasonForm, "Retry", _retry_provisioning),
    "rerun-export": ("Re-run the failed export", ReasonForm, "Re-run the export", _rerun_export),
}


def _customer_links(request: HttpRequest, workspace: Workspace) -> list[tuple[str, str]]:
    """Onward from the customer page to each app's own pages about the workspace (those the staff member may open)."""
    candidates = [
        (
            "billing.view_workspacebilling",
            "Billing page",
            reverse("admin:billing_workspacebilling_change", args=[workspace.pk]),
        ),
        (
            "billing.view_workspacebilling",
            "Invoices",
            reverse("admin:billing_invoices") + f"?workspace={workspace.slug}",
        ),
        (
            "support.view_supportissue",
            "Support issues",
            reverse("admin:support_supportissue_changelist") + f"?workspace__id__exact={workspace.pk}",
        ),
        (
            "audit.view_auditevent",
            "Audit log",
            reverse("admin:audit_auditevent_changelist") + f"?workspace__id__exact={workspace.pk}",
        ),
        (
            "usage.view_dailyusage",
            "Daily usage",
            reverse("admin:usage_dailyusage_changelist") + f"?workspace__id__exact={workspace.pk}",
        ),
        (
            "workspaces.view_exportjob",
            "Export jobs",
            reverse("admin:workspaces_exportjob_changelist") + f"?workspace__id__exact={workspace.pk}",
        ),
        (
            "workspaces.view_serviceprovisioning",
            "Provisioning",
            reverse("admin:workspaces_serviceprovisioning_changelist") + f"?workspace__id__exact={workspace.pk}",
        ),
    ]
    return [(label, url) for permission, label, url in candidates if request.user.has_perm(permission)]


class ExportStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("stuck", "Stuck (running, no heartbeat)")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[ExportJob]) -> QuerySet[ExportJob]:
        if self.value() == "stuck":
            return queryset.filter(stuck_exports_q(timezone.now()))
        return queryset


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

    @admin.action(description="Retry selected failed services…")
    def retry(self, request: HttpRequest, queryset: QuerySet[ServiceProvisioning]) -> TemplateResponse | None:
        form = _bound(ReasonForm, request)
        if form.is_bound and form.is_valid():
            _apply(
                self,
                request,
                queryset.select_related("workspace"),
                lambda provisioning: services.retry_provisioning(
                    workspace=provisioning.workspace,
                    service=provisioning.service,
                    reason=form.cleaned_data["reason"],
                ),
                done="queued again.",
            )
            return None
        return reason_page(
            self, request, title="Retry provisioning", form=form, rows=queryset, submit="Retry", action="retry"
        )


@admin.register(ExportJob)
class ExportJobAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "workspace", "status", "stage", "rows_done", "rows_total", "created_at", "finished_at")
    list_filter = ("status", ExportStateFilter)
    search_fields = ("workspace__slug", "id")
    list_select_related = ("workspace",)
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in ExportJob._meta.fields]
    actions = ["rerun"]

    def has_rerun_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(STAFF_ACTIONS_PERMISSION)

    @admin.action(description="Re-run selected failed exports…", permissions=["rerun"])
    def rerun(self, request: HttpRequest, queryset: QuerySet[ExportJob]) -> TemplateResponse | None:
        form = _bound(ReasonForm, request)
        if form.is_bound and form.is_valid():
            actor = request.user if isinstance(request.user, User) else None
            failed = queryset.filter(status=ExportStatus.FAILED).select_related("workspace")
            _apply(
                self,
                request,
                failed,
                lambda job: services.request_export(workspace=job.workspace, actor=actor),
                done="re-run as a new export.",
            )
            return None
        return reason_page(
            self, request, title="Re-run failed exports", form=form, rows=queryset, submit="Re-run", action="rerun"
        )


@admin.register(PurgedWorkspace)
class PurgedWorkspaceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Tombstones keep no email or slug, only their keyed hashes: a search hashes what staff type
    (an owner's email or a former slug) and matches it exactly; a workspace id matches as it is."""

    list_display = ("workspace_id", "restore_deadline", "purged_at", "counts")
    search_fields = ("workspace_id",)
    search_help_text = "An owner's email, a former slug or a workspace id (exact)."
    date_hierarchy = "purged_at"
    readonly_fields = [field.name for field in PurgedWorkspace._meta.fields]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[PurgedWorkspace], search_term: str
    ) -> tuple[QuerySet[PurgedWorkspace], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        matches = Q(owner_email_hash=email_hash(term)) | Q(slug_hash=slug_hash(term))
        if (workspace_id := parse_uuid(term)) is not None:
            matches |= Q(workspace_id=workspace_id)
        return queryset.filter(matches), False


# -- the dashboard


def _workspaces_panel() -> console.Panel:
    figures = workspace_figures(now=timezone.now())
    changelist = reverse("admin:workspaces_workspace_changelist")
    tiles = [
        console.Tile(
            label=WorkspaceStatus(status).label,
            count=count,
            url=f"{changelist}?status__exact={status}",
            alert=status == WorkspaceStatus.SUSPENDED and count > 0,
        )
        for status, count in figures.by_status.items()
    ]
    tiles += [
        console.Tile(label=f"Plan {code}", count=count, url=f"{changelist}?plan__id__exact={plan_id}")
        for plan_id, code, count in figures.by_plan
    ]
    tiles += [
        console.Tile(
            label="Failed provisioning",
            count=figures.failed_provisioning,
            url=reverse("admin:workspaces_serviceprovisioning_changelist") + "?status__exact=failed",
            alert=figures.failed_provisioning > 0,
        ),
        console.Tile(
            label="Failed exports",
            count=figures.failed_exports,
            url=reverse("admin:workspaces_exportjob_changelist") + "?status__exact=failed",
            alert=figures.failed_exports > 0,
        ),
        console.Tile(
            label="Stuck exports",
            count=figures.stuck_exports,
            url=reverse("admin:workspaces_exportjob_changelist") + "?state=stuck",
            alert=figures.stuck_exports > 0,
        ),
    ]
    lines = [
        console.Tile(
            label=workspace.slug,
            count=None,
            url=reverse("admin:workspaces_workspace_change", args=[workspace.pk]),
            note=f"purged after {workspace.restore_deadline:%Y-%m-%d %H:%M} UTC" if workspace.restore_deadline else "",
        )
        for workspace in figures.pending_deletion
    ]
    return console.Panel(
        title="Workspaces",
        key="workspaces",
        tiles=tiles,
        lines=lines,
        lines_title="Pending deletion, nearest deadline first",
    )


console.register_panel(_workspaces_panel, permission=CUSTOMER_PAGE_VIEWERS, order=10)
