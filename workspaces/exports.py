"""The export-archive sections the workspaces app owns: the workspace itself, its members, its plan."""

from billing.selectors import capabilities_for_plan
from centrali.exports import ExportSection
from workspaces.models import Membership, Workspace


def _iso(moment):
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def serialize_workspace(workspace):
    return {
        "id": str(workspace.pk),
        "name": workspace.name,
        "slug": workspace.slug,
        "description": workspace.description,
        "ownerId": str(workspace.owner_id),
        "status": workspace.status,
        "deletedAt": _iso(workspace.deleted_at),
        "restoreDeadline": _iso(workspace.restore_deadline),
        "createdAt": _iso(workspace.created_at),
        "updatedAt": _iso(workspace.updated_at),
    }


def serialize_member(membership):
    user = membership.user
    return {
        "userId": str(user.pk),
        "username": user.username,
        "email": user.email,
        "firstName": user.first_name,
        "lastName": user.last_name,
        "role": membership.role,
        "joinedAt": _iso(membership.created_at),
    }


def serialize_plan(workspace):
    plan = workspace.plan
    return {
        "id": str(plan.pk),
        "code": plan.code,
        "name": plan.name,
        "currency": plan.currency,
        "priceMonthly": str(plan.price_monthly),
        "priceYearly": str(plan.price_yearly),
        "limits": plan.limits,
        "capabilities": capabilities_for_plan(plan),
    }


EXPORT_SECTIONS = (
    ExportSection(
        name="workspace",
        queryset=lambda workspace: Workspace.objects.filter(pk=workspace.pk).order_by("pk"),
        serialize=serialize_workspace,
    ),
    ExportSection(
        name="members",
        queryset=lambda workspace: Membership.objects.filter(workspace=workspace).select_related("user").order_by("pk"),
        serialize=serialize_member,
    ),
    ExportSection(
        name="plan",
        queryset=lambda workspace: Workspace.objects.filter(pk=workspace.pk).select_related("plan").order_by("pk"),
        serialize=serialize_plan,
    ),
)
