"""A workspace's life: sign-up, settings, soft delete and restore, suspension.

Who acts comes from the acting context (centrali.context): the API view runs as the member,
admin actions as the staff user, tasks and webhooks as the system.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from audit.services import record
from billing.selectors import get_default_plan
from centrali.errors import Conflict, InvalidInput
from centrali.formats import parse_uuid
from workspaces import selectors
from workspaces.models import Membership, Role, User, Workspace, WorkspaceStatus
from workspaces.services.provisioning import start_provisioning
from workspaces.signals import workspace_restored, workspace_soft_deleted

SLUG_MAX_LENGTH = 50


def _slug_base(name: str) -> str:
    base = slugify(name)[:SLUG_MAX_LENGTH].strip("-") or "workspace"
    # Platform services name workspaces by slug or id: a slug must never read as another's id.
    if base in settings.WORKSPACE_RESERVED_SLUGS or parse_uuid(base) is not None:
        base = f"{base}-workspace"
    return base


def _available_slug(name: str) -> str:
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


def _assert_identity_free(*, email: str, username: str) -> None:
    if User.objects.filter(email__iexact=email).exists():
        raise Conflict(
            "A user with this email already exists.",
            code="EMAIL_ALREADY_EXISTS",
            details={"email": ["Already registered."]},
        )
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict(
            "A user with this username already exists.",
            code="USERNAME_ALREADY_EXISTS",
            details={"username": ["Already taken."]},
        )


def create_workspace(
    *, name: str, email: str, username: str, password: str | None = None, description: str = ""
) -> tuple[Workspace, User]:
    """Create the owner account, the workspace on the default plan and the owner membership, atomically.

    Sign-up is anonymous, so the new owner is named as the actor of its audit events.
    """
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
                )
                record(
                    workspace=workspace,
                    event_type="member.added",
                    resource_type="membership",
                    resource_id=owner.pk,
                    summary=f"{owner.username} joined as owner",
                    actor=owner,
                    metadata={"user_id": str(owner.pk), "role": Role.OWNER},
                )
                start_provisioning(workspace=workspace)
            return workspace, owner
        except IntegrityError:
            # A concurrent request took the email, username or slug between our checks and the insert.
            _assert_identity_free(email=email, username=username)
    raise Conflict("Could not allocate a unique workspace slug; try another name.", code="SLUG_CONFLICT")


def update_workspace(*, workspace: Workspace, name: str | None = None, description: str | None = None) -> Workspace:
    """Update name and/or description (None: unchanged); records the fields that changed, before and after."""
    requested = {"name": name, "description": description}
    with transaction.atomic():
        workspace = selectors.lock_workspace(workspace=workspace)
        diff = {
            field: {"before": getattr(workspace, field), "after": value}
            for field, value in requested.items()
            if value is not None and getattr(workspace, field) != value
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
                metadata={"changes": diff},
            )
    return workspace


def soft_delete_workspace(*, workspace: Workspace) -> Workspace:
    """Mark the workspace cancelled; it can be restored until the grace period ends."""
    with transaction.atomic():
        workspace = selectors.lock_workspace(workspace=workspace)
        if workspace.is_pending_deletion:
            raise InvalidInput("This workspace is already pending deletion.", code="WORKSPACE_PENDING_DELETION")
        now = timezone.now()
        previous_status = workspace.status
        restore_deadline = now + timedelta(days=settings.WORKSPACE_GRACE_PERIOD_DAYS)
        workspace.status = WorkspaceStatus.CANCELLED
        workspace.deleted_at = now
        workspace.restore_deadline = restore_deadline
        workspace.save(update_fields=["status", "deleted_at", "restore_deadline", "updated_at"])
        record(
            workspace=workspace,
            event_type="workspace.deleted",
            resource_type="workspace",
            resource_id=workspace.pk,
            summary=f"Workspace scheduled for deletion on {restore_deadline:%Y-%m-%d}",
            metadata={
                "status": {"before": previous_status, "after": workspace.status},
                "restore_deadline": restore_deadline.isoformat(),
            },
        )
        transaction.on_commit(partial(workspace_soft_deleted.send, sender=Workspace, workspace=workspace))
    return workspace


def restore_workspace(*, workspace: Workspace) -> Workspace:
    """Bring a soft-deleted workspace back to active within its grace period."""
    with transaction.atomic():
        workspace = selectors.lock_workspace(workspace=workspace)
        if not workspace.is_pending_deletion or workspace.restore_deadline is None:
            raise InvalidInput("This workspace is not pending deletion.", code="WORKSPACE_NOT_DELETED")
        if timezone.now() > workspace.restore_deadline:
            raise InvalidInput("The restore deadline for this workspace has passed.", code="RESTORE_DEADLINE_PASSED")
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
            metadata={"status": {"before": WorkspaceStatus.CANCELLED, "after": WorkspaceStatus.ACTIVE}},
        )
        transaction.on_commit(partial(workspace_restored.send, sender=Workspace, workspace=workspace))
    return workspace


def suspend_workspace(*, workspace: Workspace, reason: str = "") -> Workspace:
    """Suspend an active workspace (staff action, or billing when an invoice is uncollectible)."""
    return _set_suspension(workspace=workspace, suspended=True, reason=reason)


def unsuspend_workspace(*, workspace: Workspace, reason: str = "") -> Workspace:
    """Back to active from suspended (staff action, or billing once the invoice is paid)."""
    return _set_suspension(workspace=workspace, suspended=False, reason=reason)


def _set_suspension(*, workspace: Workspace, suspended: bool, reason: str) -> Workspace:
    before, after = (
        (WorkspaceStatus.ACTIVE, WorkspaceStatus.SUSPENDED)
        if suspended
        else (WorkspaceStatus.SUSPENDED, WorkspaceStatus.ACTIVE)
    )
    with transaction.atomic():
        workspace = selectors.lock_workspace(workspace=workspace)
        if workspace.status != before:
            return workspace  # already there, or pending deletion: nothing to change
        workspace.status = after
        workspace.save(update_fields=["status", "updated_at"])
        record(
            workspace=workspace,
            event_type="workspace.suspended" if suspended else "workspace.unsuspended",
            resource_type="workspace",
            resource_id=workspace.pk,
            summary=("Workspace suspended" if suspended else "Workspace unsuspended")
            + (f": {reason}" if reason else ""),
            metadata={"status": {"before": before, "after": after}, "reason": reason},
        )
    return workspace
