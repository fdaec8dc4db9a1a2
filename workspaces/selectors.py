"""Reads of the workspaces app, for its own views and for the other apps."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db.models import Count, Q, QuerySet

from centrali.compiled import CompiledQuery
from centrali.formats import parse_uuid
from workspaces.models import (
    ExportJob,
    Membership,
    ProvisioningStatus,
    ServiceProvisioning,
    User,
    Workspace,
    WorkspaceStatus,
)


def get_membership(*, slug: str, user: User) -> Membership | None:
    """The caller's membership of the workspace `slug`, with workspace and plan, in one query; or None."""
    return (
        Membership.objects.select_related("workspace", "workspace__plan")
        .filter(workspace__slug=slug, user_id=user.pk)
        .first()
    )


def _membership_of_user_id(*, slug: str, user_id: UUID | str) -> QuerySet[Membership]:
    # At most one row (unique per workspace and user): no ORDER BY to compile or sort.
    return (
        Membership.objects.select_related("user", "workspace", "workspace__plan")
        .filter(workspace__slug=slug, user_id=user_id)
        .order_by()[:1]
    )


# Read on every /{slug}/ request: compiled once (centrali.compiled), run with each caller's values.
_MEMBERSHIP_OF_USER_ID = CompiledQuery(
    _membership_of_user_id,
    placeholders={
        "slug": (Workspace, "slug", "\0slug"),
        "user_id": (User, "id", UUID(int=0)),
    },
)


def get_membership_of_user_id(*, slug: str, user_id: UUID | str) -> Membership | None:
    """The membership of user `user_id` in workspace `slug`, with its user, workspace and plan, in one
    query; or None. Authentication of a `/{slug}/` request loads the caller this way."""
    rows = _MEMBERSHIP_OF_USER_ID.fetch(slug=slug, user_id=user_id, limit=1)
    return rows[0] if rows else None


def get_workspace(*, workspace_id: UUID | str) -> Workspace | None:
    """The workspace with its plan and owner, or None."""
    return workspaces_with_plans().filter(pk=workspace_id).first()


def workspaces_with_plans() -> QuerySet[Workspace]:
    """Every workspace with its plan and owner: the queryset other apps narrow by their own relations."""
    return Workspace.objects.select_related("plan", "owner")


def workspace_exists(*, slug: str) -> bool:
    return Workspace.objects.filter(slug=slug).exists()


def workspaces_with_plan(**lookup: Any) -> QuerySet[Workspace]:
    """The workspaces matching `lookup`, each with its plan (not its owner)."""
    return Workspace.objects.select_related("plan").filter(**lookup)


def _workspace_with_plan(**lookup: Any) -> QuerySet[Workspace]:
    # At most one row (id and slug are unique): no ORDER BY to compile or sort.
    return workspaces_with_plan(**lookup).order_by()[:1]


# The platform's quota check reads a workspace this way on every call: compiled once (centrali.compiled).
_WORKSPACE_BY_ID = CompiledQuery(
    lambda *, id: _workspace_with_plan(pk=id),
    placeholders={"id": (Workspace, "id", UUID(int=0))},
)
_WORKSPACE_BY_SLUG = CompiledQuery(
    lambda *, slug: _workspace_with_plan(slug=slug),
    placeholders={"slug": (Workspace, "slug", "\0slug")},
)


def get_workspace_by_ref(ref: UUID | str) -> Workspace | None:
    """A workspace named by slug or uuid (platform services use either), with its plan; None when unknown."""
    workspace_id = parse_uuid(ref)
    if workspace_id is not None:
        found = _WORKSPACE_BY_ID.fetch(id=workspace_id, limit=1)
    else:
        found = _WORKSPACE_BY_SLUG.fetch(slug=str(ref), limit=1)
    return found[0] if found else None


def workspace_status_counts() -> dict[str, int]:
    """{status: count} over all workspaces, for /metrics."""
    return dict(Workspace.objects.order_by().values_list("status").annotate(n=Count("id")))


def get_workspaces_by_refs(refs: Iterable[str]) -> dict[str, Workspace]:
    """{ref: Workspace} for each ref that names a workspace, with its plan, in one query.

    A UUID-shaped ref names a workspace by id only, any other ref by slug only: a slug that
    happens to spell another workspace's id must never capture that workspace's refs."""
    pk_of: dict[str, UUID] = {}
    slug_refs: set[str] = set()
    for ref in set(refs):
        workspace_id = parse_uuid(ref)
        if workspace_id is None:
            slug_refs.add(ref)
        else:
            pk_of[ref] = workspace_id
    workspaces = list(
        Workspace.objects.filter(Q(pk__in=set(pk_of.values())) | Q(slug__in=slug_refs)).select_related("plan")
    )
    by_pk = {workspace.pk: workspace for workspace in workspaces}
    by_slug = {workspace.slug: workspace for workspace in workspaces}
    found = {ref: by_pk[pk] for ref, pk in pk_of.items() if pk in by_pk}
    found.update({ref: by_slug[ref] for ref in slug_refs if ref in by_slug})
    return found


def provisioning_status(*, workspace: Workspace) -> dict[str, Any]:
    """The provision-status view of a workspace: overall status derived from its services (one query)."""
    rows = list(ServiceProvisioning.objects.filter(workspace=workspace).order_by("service"))
    statuses = {row.status for row in rows}
    if ProvisioningStatus.FAILED in statuses:
        overall = ProvisioningStatus.FAILED
    elif statuses <= {ProvisioningStatus.READY}:
        overall = ProvisioningStatus.READY
    elif ProvisioningStatus.PROVISIONING in statuses:
        overall = ProvisioningStatus.PROVISIONING
    else:
        overall = ProvisioningStatus.PENDING
    return {
        "workspace_slug": workspace.slug,
        "status": overall,
        "services": {row.service: row.status for row in rows},
        "updated_at": max((row.updated_at for row in rows), default=workspace.created_at),
        "details": {
            row.service: {
                "status": row.status,
                "attempts": row.attempts,
                "lastError": row.last_error or None,
                "readyAt": row.ready_at,
                "updatedAt": row.updated_at,
            }
            for row in rows
        },
    }


def _with_workspace(job: ExportJob | None, workspace: Workspace) -> ExportJob | None:
    if job is not None:
        job.workspace = workspace  # already loaded by the caller: spare the query
    return job


def latest_export_job(*, workspace: Workspace) -> ExportJob | None:
    return _with_workspace(ExportJob.objects.filter(workspace=workspace).order_by("-created_at").first(), workspace)


def get_export_job(*, workspace: Workspace, job_id: object) -> ExportJob | None:
    """The workspace's export job `job_id`, or None (unknown, malformed, or another workspace's)."""
    pk = parse_uuid(job_id)
    if pk is None:
        return None
    return _with_workspace(ExportJob.objects.filter(workspace=workspace, pk=pk).first(), workspace)


def get_export_job_by_slug(*, slug: str, job_id: object) -> ExportJob | None:
    """The export job `job_id` of the workspace `slug`, with its workspace, or None (for the signed download)."""
    pk = parse_uuid(job_id)
    if pk is None:
        return None
    return ExportJob.objects.select_related("workspace").filter(workspace__slug=slug, pk=pk).first()


def workspaces_due_for_purge(*, now: datetime) -> QuerySet[Workspace]:
    """Cancelled workspaces whose restore deadline has passed, oldest deadline first."""
    return Workspace.objects.filter(status=WorkspaceStatus.CANCELLED, restore_deadline__lt=now).order_by(
        "restore_deadline", "pk"
    )


# --- Locking reads: call them inside a transaction.


def lock_workspace(*, workspace: Workspace) -> Workspace:
    """The workspace's current row (with its plan), locked until the transaction ends.

    Call it inside a transaction, before any other lock a change of this workspace takes: every
    service locks the workspace first (audit appends too), so concurrent changes queue instead of
    deadlocking. Only the workspace row is locked, never the plan that other workspaces share.
    """
    return Workspace.objects.select_for_update(of=("self",)).select_related("plan").get(pk=workspace.pk)


def lock_workspace_for_append(*, workspace_id: UUID | str) -> None:
    """The cheapest lock that serializes appends to the workspace's audit chain (FOR NO KEY UPDATE:
    other tables' foreign-key checks against the workspace stay unblocked)."""
    Workspace.objects.select_for_update(no_key=True).filter(pk=workspace_id).values_list("pk", flat=True).get()
