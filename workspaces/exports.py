"""The export-archive sections the workspaces app owns: the workspace itself, its members, its plan."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from billing.selectors import capabilities_for_plan
from centrali.exports import ExportSection
from centrali.formats import iso_utc
from workspaces.models import Membership, Workspace


def serialize_workspace(workspace: Workspace) -> dict[str, Any]:
    return {
        "id": str(workspace.pk),
        "name": workspace.name,
        "slug": workspace.slug,
        "description": workspace.description,
        "owner_id": str(workspace.owner_id),
        "status": workspace.status,
        "deleted_at": iso_utc(workspace.deleted_at),
        "restore_deadline": iso_utc(workspace.restore_deadline),
        "created_at": iso_utc(workspace.created_at),
        "updated_at": iso_utc(workspace.updated_at),
    }


def serialize_member(membership: Membership) -> dict[str, Any]:
    user = membership.user
    return {
        "user_id": str(user.pk),
        "username": user.username,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "role": membership.role,
        "joined_at": iso_utc(membership.created_at),
    }


def serialize_plan(workspace: Workspace) -> dict[str, Any]:
    plan = workspace.plan
    return {
        "id": str(plan.pk),
        "code": plan.code,
        "name": plan.name,
        "currency": plan.currency,
        "price_monthly": str(plan.price_monthly),
        "price_yearly": str(plan.price_yearly),
        "limits": plan.limits,
        "capabilities": capabilities_for_plan(plan),
    }


def _the_workspace(workspace: Workspace) -> QuerySet[Workspace]:
    return Workspace.objects.filter(pk=workspace.pk).order_by("pk")


def _members(workspace: Workspace) -> QuerySet[Membership]:
    return Membership.objects.filter(workspace=workspace).select_related("user").order_by("pk")


def _the_workspace_with_its_plan(workspace: Workspace) -> QuerySet[Workspace]:
    return _the_workspace(workspace).select_related("plan")


EXPORT_SECTIONS = (
    ExportSection(name="workspace", queryset=_the_workspace, serialize=serialize_workspace),
    ExportSection(name="members", queryset=_members, serialize=serialize_member),
    ExportSection(name="plan", queryset=_the_workspace_with_its_plan, serialize=serialize_plan),
)
