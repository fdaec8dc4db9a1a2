"""Erasing a person's account: the end of their data in this service (GDPR art. 17).

The account row goes entirely rather than being stripped to an id: nothing needs it afterwards.
Support issues and comments keep their content with the author cleared (their foreign keys are
SET NULL), export jobs forget who asked, and the platform IAM, which owns the identity, presents
the same id again if the person ever comes back. What other apps hold is erased by the receivers
of `account_erasing`, inside the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from uuid import UUID

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from centrali.errors import Conflict
from centrali.models import IdempotencyRecord
from workspaces import storage as workspace_storage
from workspaces.models import ExportJob, ExportStatus, Membership, User, Workspace
from workspaces.signals import account_erasing

ERASED_NAME = "erased user"


class PersonOwnsWorkspace(Conflict):
    """A workspace's owner cannot be erased: ownership must pass to someone else first."""

    code = "PERSON_OWNS_WORKSPACE"


def owned_workspace_slugs(*, user: User) -> list[str]:
    return list(Workspace.objects.filter(owner=user).order_by("slug").values_list("slug", flat=True))


def refuse_if_owner(*, user: User) -> None:
    if owned := owned_workspace_slugs(user=user):
        raise PersonOwnsWorkspace(
            f"This person owns {len(owned)} workspace(s) ({', '.join(owned)}); "
            "transfer ownership to another member (or delete the workspace) before erasing them.",
            details={"workspaces": owned},
        )


def erase_account(*, user: User, reason: str) -> str:
    """Delete the account, its memberships and what the service keeps keyed by it; refuses an owner.
    Returns the erasure's id: random, so that audit entries about it name nobody.

    Who is erased is not audited here (an audit entry naming them would be personal data itself):
    the receivers of account_erasing record, in each workspace concerned, that a person was erased.
    """
    erasure_id = str(uuid.uuid4())
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        refuse_if_owner(user=user)
        account_erasing.send(sender=User, user=user, reason=reason, erasure_id=erasure_id)
        IdempotencyRecord.objects.filter(scope=f"user:{user.pk}").delete()
        # Staff edits of the account in the admin name it (object_repr is the username).
        LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(User), object_id=str(user.pk)).update(
            object_repr=ERASED_NAME, change_message=""
        )
        Membership.objects.filter(user=user).delete()
        user.delete()
    return erasure_id


def discard_export_archives(*, workspace_ids: Collection[UUID]) -> int:
    """Completed export archives of these workspaces hold an erased person (members, support
    threads, audit log): they go with the erasure, their jobs read `expired`. Returns how many.
    The files are deleted once the erasure commits; rolled back, the archives stay as they were."""
    jobs = ExportJob.objects.filter(workspace_id__in=workspace_ids, status=ExportStatus.COMPLETED)
    names = list(jobs.values_list("file_name", flat=True))
    discarded = jobs.update(status=ExportStatus.EXPIRED, stage="expired", file_name="")

    def delete_files() -> None:
        for name in names:
            workspace_storage.delete_file(name)

    transaction.on_commit(delete_files)
    return discarded


def accounts_left_without_membership(*, user_ids: Collection[UUID]) -> list[User]:
    """Of these accounts, those of customers (not staff) that belong to no workspace and own none."""
    return list(
        User.objects.filter(pk__in=user_ids, is_staff=False, is_superuser=False)
        .exclude(memberships__isnull=False)
        .exclude(owned_workspaces__isnull=False)
        .order_by("pk")
    )
