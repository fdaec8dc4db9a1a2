"""Purge: the hard delete of a workspace after its grace period, keeping a tombstone.

What goes: the workspace's files, its rows (everything cascades from the workspace), its audit log,
and the accounts of its members (owner included) that the purge leaves in no workspace at all
(workspaces.services.erasure.erase_account, so other apps erase what they hold of them too). What
stays: the tombstone, with ids, dates, counts and keyed hashes of the owner's email and the slug.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

import structlog
from django.db import transaction
from django.utils import timezone

from audit.services import purge_workspace_events
from centrali.errors import Conflict
from centrali.personal_data import email_hash, slug_hash
from workspaces import storage as workspace_storage
from workspaces.models import PurgedWorkspace, Workspace, WorkspaceStatus
from workspaces.selectors import workspaces_due_for_purge
from workspaces.services.erasure import accounts_left_without_membership, erase_account
from workspaces.signals import workspace_purging

logger = structlog.get_logger(__name__)


class NotDueForPurge(Conflict):
    """The workspace is not cancelled, or still inside its grace period."""

    code = "WORKSPACE_NOT_DUE_FOR_PURGE"


def _is_due_for_purge(workspace: Workspace, now: datetime) -> bool:
    return (
        workspace.status == WorkspaceStatus.CANCELLED
        and workspace.restore_deadline is not None
        and workspace.restore_deadline < now
    )


def purge_workspace(*, workspace: Workspace, now: datetime) -> PurgedWorkspace:
    """Hard-delete a cancelled workspace whose restore deadline has passed; returns its tombstone.

    Files go first (deleting them again is harmless if the transaction then fails); then, in one
    transaction: the workspace_purging signal (billing cancels its Stripe records), the audit
    events, the tombstone, the workspace with everything that cascades from it, and the accounts
    it leaves without any membership.
    """
    if not _is_due_for_purge(workspace, now):
        raise NotDueForPurge(f"Workspace '{workspace.slug}' is not due for purge.")
    files_deleted = workspace_storage.delete_area(workspace.pk)
    with transaction.atomic():
        workspace = Workspace.objects.select_for_update(of=("self",)).select_related("owner").get(pk=workspace.pk)
        if not _is_due_for_purge(workspace, now):
            raise NotDueForPurge(f"Workspace '{workspace.slug}' is not due for purge.")
        counts = {
            "members": workspace.memberships.count(),
            "export_jobs": workspace.export_jobs.count(),
            "provisioned_services": workspace.provisioned_services.count(),
            "export_files": files_deleted,
        }
        people = {workspace.owner_id, *workspace.memberships.values_list("user_id", flat=True)}
        workspace_purging.send(sender=Workspace, workspace=workspace)
        counts["audit_events"] = purge_workspace_events(workspace=workspace)
        tombstone = PurgedWorkspace(
            workspace_id=workspace.pk,
            owner_email_hash=email_hash(workspace.owner.email),
            slug_hash=slug_hash(workspace.slug),
            deleted_at=workspace.deleted_at,
            restore_deadline=workspace.restore_deadline,
            purged_at=timezone.now(),
            counts=counts,
        )
        workspace.delete()
        orphans = accounts_left_without_membership(user_ids=people)
        for account in orphans:
            erase_account(user=account, reason="Their last workspace was purged.")
        counts["accounts_erased"] = len(orphans)
        tombstone.save(force_insert=True)
    return tombstone


def purge_due_workspaces(
    *,
    now: datetime,
    batch_size: int,
    on_purged: Callable[[Workspace, PurgedWorkspace], object] | None = None,
    on_error: Callable[[Workspace, Exception], object] | None = None,
) -> tuple[int, int]:
    """Purge every workspace due at `now`, `batch_size` at a time; returns (purged, failed) counts.
    A workspace that fails is reported through on_error and skipped, never retried in this run;
    on_purged gets the workspace as it was (its slug is for the operator's eyes, not the tombstone)."""
    failed_ids: set[UUID] = set()
    purged = 0
    while batch := list(workspaces_due_for_purge(now=now).exclude(pk__in=failed_ids)[:batch_size]):
        for workspace in batch:
            try:
                tombstone = purge_workspace(workspace=workspace, now=now)
            except Exception as exc:
                logger.exception("workspace_purge_failed", workspace=workspace.slug, workspace_id=str(workspace.pk))
                failed_ids.add(workspace.pk)
                if on_error:
                    on_error(workspace, exc)
                continue
            purged += 1
            if on_purged:
                on_purged(workspace, tombstone)
    return purged, len(failed_ids)
