"""A workspace's life: sign-up, settings, soft delete and restore (and staff extending the grace
period), suspension by billing or by staff.

Who acts comes from the acting context (centrali.context): the API view runs as the member,
admin actions as the staff user, tasks and webhooks as the system.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from audit.services import record
from billing.selectors import get_default_plan
from centrali.errors import Conflict, InvalidInput, PreconditionFailed
from centrali.formats import parse_uuid
from workspaces import selectors
from workspaces.models import Membership, Role, User, Workspace, WorkspaceStatus
from workspaces.services.provisioning import start_provisioning
from workspaces.signals import workspace_restored, workspace_soft_deleted

SLUG_MAX_LENGTH = 50
# The most staff may add to a deletion grace period at once.
MAX_GRACE_EXTENSION_DAYS = 90


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


def update_workspace(
    *,
    workspace: Workspace,
    name: str | None = None,
    description: str | None = None,
    expected_version: datetime | None = None,
) -> Workspace:
    """Update name and/or description (None: unchanged); records the fields that changed, before and after.

    `expected_version` (the `updated_at` the caller read, from If-Match): the update applies only
    while the workspace is still at it, checked under the row lock, else PreconditionFailed.
    """
    requested = {"name": name, "description": description}
    with transaction.atomic():
        workspace = selectors.lock_workspace(workspace=workspace)
        if expected_version is not None and workspace.updated_at != expected_version:
            raise PreconditionFailed(
                "The workspace changed since it was read; read it again and retry.", code="PRECONDITION_FAILED"
            )
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
    """Billing suspends an active workspace (an invoice is uncollectible); its members are told to settle billing."""
    with transaction.atomic():
        workspace = selectors.lock_workspace(workspace=workspace)
        if workspace.status != WorkspaceStatus.ACTIVE:
            return workspace  # already suspended, or pending deletion: nothing to change
        return _suspend(workspace, reason=reason, staff_reason="")


def unsuspend_workspace(*, workspace: Workspace, reason: str = "") -> Workspace:
    """Billing lifts its suspension (the invoice is paid). A suspension staff imposed stays until staff lift it."""
    with transaction.atomic():
        workspace = selectors.lock_workspace(workspace=workspace)
        if workspace.status != WorkspaceStatus.SUSPENDED or workspace.suspension_reason:
            return workspace
        return _unsuspend(workspace, reason=reason)


def suspend_workspace_by_staff(*, workspace: Workspace, reason: str) -> Workspace:
    """Staff suspend the workspace for `reason`, which is what its members are told (WORKSPACE_SUSPENDED).

    A workspace billing already suspended takes the staff reason: it is then staff's to lift,
    not the next paid invoice's. A workspace pending deletion cannot be suspended.
    """
    reason = _required_reason(reason)
    with transaction.atomic():
        workspace = selectors.lock_workspace(workspace=workspace)
        if workspace.is_pending_deletion:
            raise InvalidInput(
                "This workspace is pending deletion; restore it first.", code="WORKSPACE_PENDING_DELETION"
            )
        if workspace.status == WorkspaceStatus.SUSPENDED and workspace.suspension_reason == reason:
            return workspace
        return _suspend(workspace, reason=reason, staff_reason=reason)


def unsuspend_workspace_by_staff(*, workspace: Workspace, reason: str) -> Workspace:
    """Staff lift a suspension, theirs or billing's, for `reason` (audited)."""
    reason = _required_reason(reason)
    with transaction.atomic():
        workspace = selectors.lock_workspace(workspace=workspace)
        if workspace.status != WorkspaceStatus.SUSPENDED:
            raise InvalidInput("This workspace is not suspended.", code="WORKSPACE_NOT_SUSPENDED")
        return _unsuspend(workspace, reason=reason)


def extend_restore_deadline(*, workspace: Workspace, days: int, reason: str) -> Workspace:
    """Staff give a workspace pending deletion `days` more before it is purged (audited with `reason`).

    Allowed until the purge has run, even once the deadline has passed.
    """
    reason = _required_reason(reason)
    if not 1 <= days <= MAX_GRACE_EXTENSION_DAYS:
        raise InvalidInput.for_field(
            "days", f"Extend by 1 to {MAX_GRACE_EXTENSION_DAYS} days.", code="INVALID_GRACE_EXTENSION"
        )
    with transaction.atomic():
        workspace = selectors.lock_workspace(workspace=workspace)
        if not workspace.is_pending_deletion or workspace.restore_deadline is None:
            raise InvalidInput("This workspace is not pending deletion.", code="WORKSPACE_NOT_DELETED")
        before = workspace.restore_deadline
        workspace.restore_deadline = max(before, timezone.now()) + timedelta(days=days)
        workspace.save(update_fields=["restore_deadline", "updated_at"])
        record(
            workspace=workspace,
            event_type="workspace.updated",
            resource_type="workspace",
            resource_id=workspace.pk,
            summary=f"Deletion grace period extended to {workspace.restore_deadline:%Y-%m-%d}: {reason}",
            metadata={
                "changes": {
                    "restore_deadline": {
                        "before": before.isoformat(),
                        "after": workspace.restore_deadline.isoformat(),
                    }
                },
                "reason": reason,
            },
        )
    return workspace


def _required_reason(reason: str) -> str:
    reason = " ".join(reason.split())
    if not reason:
        raise InvalidInput.for_field(
            "reason", "Give a reason; it is recorded in the audit log.", code="REASON_REQUIRED"
        )
    return reason[:500]


def _suspend(workspace: Workspace, *, reason: str, staff_reason: str) -> Workspace:
    before = workspace.status
    workspace.status = WorkspaceStatus.SUSPENDED
    workspace.suspension_reason = staff_reason
    workspace.save(update_fields=["status", "suspension_reason", "updated_at"])
    record(
        workspace=workspace,
        event_type="workspace.suspended",
        resource_type="workspace",
        resource_id=workspace.pk,
        summary="Workspace suspended" + (f": {reason}" if reason else ""),
        metadata={"status": {"before": before, "after": workspace.status}, "reason": reason},
    )
    return workspace


def _unsuspend(workspace: Workspace, *, reason: str) -> Workspace:
    workspace.status = WorkspaceStatus.ACTIVE
    workspace.suspension_reason = ""
    workspace.save(update_fields=["status", "suspension_reason", "updated_at"])
    record(
        workspace=workspace,
        event_type="workspace.unsuspended",
        resource_type="workspace",
        resource_id=workspace.pk,
        summary="Workspace unsuspended" + (f": {reason}" if reason else ""),
        metadata={"status": {"before": WorkspaceStatus.SUSPENDED, "after": WorkspaceStatus.ACTIVE}, "reason": reason},
    )
    return workspace
