"""Writes of the workspaces app. Each service is one transaction that records its audit event."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from audit.events import ActorType
from audit.services import record
from billing.selectors import get_default_plan
from centrali.api.errors import ApiError, ConflictError
from workspaces.models import Membership, Role, User, Workspace, WorkspaceStatus

SLUG_MAX_LENGTH = 50


def _slug_base(name):
    base = slugify(name)[:SLUG_MAX_LENGTH].strip("-") or "workspace"
    if base in settings.WORKSPACE_RESERVED_SLUGS:
        base = f"{base}-workspace"
    return base


def _available_slug(name):
    """`acme`, else `acme-2`, `acme-3`, … (the unique constraint still decides under races)."""
    base = _slug_base(name)
    taken = set(Workspace.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    if base not in taken:
        return base
    for n in range(2, 1000):
        candidate = f"{base}-{n}"
        if candidate not in taken:
            return candidate
    return f"{base}-{secrets.token_hex(3)}"


def _assert_identity_free(*, email, username):
    if User.objects.filter(email__iexact=email).exists():
        raise ConflictError("A user with this email already exists.", code="EMAIL_ALREADY_EXISTS", details={"email": ["Already registered."]})
    if User.objects.filter(username__iexact=username).exists():
        raise ConflictError(
            "A user with this username already exists.",
            code="USERNAME_ALREADY_EXISTS",
            details={"username": ["Already taken."]},
        )


def create_workspace(*, name, email, username, password, description="", request=None):
    """Create the owner account, the workspace on the default plan and the owner membership, atomically."""
    _assert_identity_free(email=email, username=username)
    plan = get_default_plan()
    for _attempt in range(3):
        try:
            with transaction.atomic():
                owner = User.objects.create_user(username=username, email=email.lower(), password=password)
                workspace = Workspace.objects.create(
                    name=name, slug=_available_slug(name), description=description, owner=owner, plan=plan
                )
                Membership.objects.create(workspace=workspace, user=owner, role=Role.OWNER)
                record(
                    workspace=workspace,
                    event_type="workspace.created",
                    resource_type="workspace",
                    resource_id=workspace.pk,
                    summary=f"Workspace '{workspace.name}' created",
                    actor=owner,
                    metadata={"slug": workspace.slug, "plan": plan.code},
                    request=request,
                )
                record(
                    workspace=workspace,
                    event_type="member.added",
                    resource_type="membership",
                    resource_id=owner.pk,
                    summary=f"{owner.username} joined as owner",
                    actor=owner,
                    metadata={"user_id": str(owner.pk), "role": Role.OWNER},
                    request=request,
                )
            return workspace, owner
        except IntegrityError:
            # A concurrent request took the email, username or slug between our checks and the insert.
            _assert_identity_free(email=email, username=username)
    raise ConflictError("Could not allocate a unique workspace slug; try another name.", code="SLUG_CONFLICT")


def _locked(workspace):
    return Workspace.objects.select_for_update().get(pk=workspace.pk)


def update_workspace(*, workspace, actor, request=None, **changes):
    """Update name and/or description; records the fields that changed, before and after."""
    with transaction.atomic():
        workspace = _locked(workspace)
        diff = {
            field: {"before": getattr(workspace, field), "after": value}
            for field, value in changes.items()
            if field in {"name", "description"} and getattr(workspace, field) != value
        }
        if diff:
            for field, change in diff.items():
                setattr(workspace, field, change["after"])
            workspace.save(update_fields=[*diff, "updated_at"])
            record(
                workspace=workspace,
                event_type="workspace.updated",
                resource_type="workspace",
                resource_id=workspace.pk,
                summary=f"Workspace settings updated: {', '.join(sorted(diff))}",
                actor=actor,
                metadata={"changes": diff},
                request=request,
            )
    return workspace


def soft_delete_workspace(*, workspace, actor, request=None):
    """Mark the workspace cancelled; it can be restored until the grace period ends."""
    with transaction.atomic():
        workspace = _locked(workspace)
        if workspace.is_pending_deletion:
            raise ApiError("This workspace is already pending deletion.", code="WORKSPACE_PENDING_DELETION")
        now = timezone.now()
        previous_status = workspace.status
        workspace.status = WorkspaceStatus.CANCELLED
        workspace.deleted_at = now
        workspace.restore_deadline = now + timedelta(days=settings.WORKSPACE_GRACE_PERIOD_DAYS)
        workspace.save(update_fields=["status", "deleted_at", "restore_deadline", "updated_at"])
        record(
            workspace=workspace,
            event_type="workspace.deleted",
            resource_type="workspace",
            resource_id=workspace.pk,
            summary=f"Workspace scheduled for deletion on {workspace.restore_deadline:%Y-%m-%d}",
            actor=actor,
            metadata={
                "status": {"before": previous_status, "after": workspace.status},
                "restore_deadline": workspace.restore_deadline.isoformat(),
            },
            request=request,
        )
    return workspace


def restore_workspace(*, workspace, actor, request=None, actor_type=None):
    """Bring a soft-deleted workspace back to active within its grace period."""
    with transaction.atomic():
        workspace = _locked(workspace)
        if not workspace.is_pending_deletion:
            raise ApiError("This workspace is not pending deletion.", code="WORKSPACE_NOT_DELETED")
        if timezone.now() > workspace.restore_deadline:
            raise ApiError(
                "The restore deadline for this workspace has passed.", code="RESTORE_DEADLINE_PASSED"
            )
        workspace.status = WorkspaceStatus.ACTIVE
        workspace.deleted_at = None
        workspace.restore_deadline = None
        workspace.save(update_fields=["status", "deleted_at", "restore_deadline", "updated_at"])
        record(
            workspace=workspace,
            event_type="workspace.restored",
            resource_type="workspace",
            resource_id=workspace.pk,
            summary="Workspace restored",
            actor=actor,
            actor_type=actor_type,
            metadata={"status": {"before": WorkspaceStatus.CANCELLED, "after": WorkspaceStatus.ACTIVE}},
            request=request,
        )
    return workspace


def suspend_workspace(*, workspace, actor=None, actor_type=ActorType.STAFF, reason=""):
    """Suspend an active workspace (staff action, or billing when an invoice is uncollectible)."""
    return _set_suspension(workspace=workspace, suspended=True, actor=actor, actor_type=actor_type, reason=reason)


def unsuspend_workspace(*, workspace, actor=None, actor_type=ActorType.STAFF, reason=""):
    return _set_suspension(workspace=workspace, suspended=False, actor=actor, actor_type=actor_type, reason=reason)


def _set_suspension(*, workspace, suspended, actor, actor_type, reason):
    before, after = (
        (WorkspaceStatus.ACTIVE, WorkspaceStatus.SUSPENDED) if suspended else (WorkspaceStatus.SUSPENDED, WorkspaceStatus.ACTIVE)
    )
    with transaction.atomic():
        workspace = _locked(workspace)
        if workspace.status != before:
            return workspace  # already there, or pending deletion: nothing to change
        workspace.status = after
        workspace.save(update_fields=["status", "updated_at"])
        record(
            workspace=workspace,
            event_type="workspace.suspended" if suspended else "workspace.unsuspended",
            resource_type="workspace",
            resource_id=workspace.pk,
            summary=("Workspace suspended" if suspended else "Workspace unsuspended") + (f": {reason}" if reason else ""),
            actor=actor,
            actor_type=actor_type,
            metadata={"status": {"before": before, "after": after}, "reason": reason},
        )
    return workspace
