"""Reads of the staff console about workspaces: the dashboard's workspace figures and the workspaces
app's sections of the customer page (members, provisioning, exports)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Count, Q

from workspaces import selectors
from workspaces.models import (
    ExportJob,
    ExportStatus,
    Membership,
    ProvisioningStatus,
    ServiceProvisioning,
    Workspace,
    WorkspaceStatus,
)

# How many workspaces pending deletion the dashboard names, nearest deadline first.
PENDING_DELETION_SHOWN = 5


# --- the dashboard


@dataclass(frozen=True)
class WorkspaceFigures:
    by_status: dict[str, int]
    by_plan: list[tuple[str, str, int]]  # (plan id, plan code, workspaces)
    pending_deletion: list[Workspace]  # nearest deadline first, at most PENDING_DELETION_SHOWN
    failed_provisioning: int  # services failed
    failed_exports: int
    stuck_exports: int  # running without a heartbeat for longer than the timeout


def stuck_exports_q(now: datetime) -> Q:
    return Q(status=ExportStatus.RUNNING) & (
        Q(heartbeat_at__lt=now - settings.EXPORT_HEARTBEAT_TIMEOUT) | Q(heartbeat_at__isnull=True)
    )


def workspace_figures(*, now: datetime) -> WorkspaceFigures:
    """Five queries, whatever the number of workspaces."""
    by_status = dict(Workspace.objects.order_by().values_list("status").annotate(n=Count("id")))
    by_plan = [
        (str(plan_id), code, n)
        for plan_id, code, n in Workspace.objects.order_by()
        .values_list("plan_id", "plan__code")
        .annotate(n=Count("id"))
        .order_by("plan__sort_order", "plan__code")
    ]
    pending = list(
        Workspace.objects.filter(status=WorkspaceStatus.CANCELLED).order_by("restore_deadline", "pk")[
            :PENDING_DELETION_SHOWN
        ]
    )
    failed_provisioning = ServiceProvisioning.objects.filter(status=ProvisioningStatus.FAILED).count()
    exports = ExportJob.objects.aggregate(
        failed=Count("id", filter=Q(status=ExportStatus.FAILED)), stuck=Count("id", filter=stuck_exports_q(now))
    )
    return WorkspaceFigures(
        by_status={status: by_status.get(status, 0) for status in WorkspaceStatus.values},
        by_plan=by_plan,
        pending_deletion=pending,
        failed_provisioning=failed_provisioning,
        failed_exports=exports["failed"],
        stuck_exports=exports["stuck"],
    )


# --- the customer page (the workspaces app's sections; other apps add theirs)


@dataclass(frozen=True)
class WorkspaceSections:
    members: list[Membership]
    provisioning: dict[str, Any]
    export_jobs: list[ExportJob]


def workspace_sections(*, workspace: Workspace, exports_shown: int = 10) -> WorkspaceSections:
    return WorkspaceSections(
        members=list(Membership.objects.filter(workspace=workspace).select_related("user").order_by("created_at")),
        provisioning=selectors.provisioning_status(workspace=workspace),
        export_jobs=list(ExportJob.objects.filter(workspace=workspace).order_by("-created_at")[:exports_shown]),
    )
