"""What staff do in the support console: assign an issue (to themselves or any Support colleague),
re-prioritise it, reply in its thread, leave internal notes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from audit.services import record
from centrali.errors import InvalidInput
from support.models import Comment, CommentKind, IssuePriority, IssueStatus, SupportIssue
from support.roles import SUPPORT_GROUP_NAME
from support.services.comments import STAFF_DISPLAY_SUFFIX, display_name_of
from support.services.issues import lock_issue, refuse_if_closed, update_issue
from support.services.notifications import notify_on_commit

if TYPE_CHECKING:
    from workspaces.models import User


def assign_issue(*, issue: SupportIssue, staff: User, reason: str = "") -> SupportIssue:
    """Assign the issue to `staff`, any active member of the Support group (or a superuser): the
    acting staff member taking it, or handing it to a colleague (with `reason`, audited).
    Assigning an open issue also moves it in progress, in the same transaction."""
    if not may_be_assigned(staff):
        raise InvalidInput.for_field(
            "assigned_to", f"{display_name_of(staff)} is not in the Support staff group.", code="NOT_SUPPORT_STAFF"
        )
    reason = " ".join(reason.split())[:500]
    with transaction.atomic():
        issue = lock_issue(issue)
        if issue.assigned_to_id == staff.pk:
            return issue
        before = str(issue.assigned_to_id) if issue.assigned_to_id else None
        issue.assigned_to = staff
        issue.save(update_fields=["assigned_to", "updated_at"])
        metadata: dict[str, object] = {"changes": {"assigned_to": {"before": before, "after": str(staff.pk)}}}
        if reason:
            metadata["reason"] = reason
        record(
            workspace=issue.workspace,
            event_type="support_issue.assigned",
            resource_type="support_issue",
            resource_id=issue.pk,
            summary=f"Support issue #{issue.pk} assigned to {display_name_of(staff)}"
            + (f": {reason}" if reason else ""),
            metadata=metadata,
        )
        if issue.status == IssueStatus.OPEN:
            issue = update_issue(issue=issue, actor=staff, status=IssueStatus.IN_PROGRESS)
    return issue


def set_issue_priority(*, issue: SupportIssue, priority: str, staff: User, reason: str) -> SupportIssue:
    """Staff re-prioritise an issue, for `reason` (required; audited with the change)."""
    reason = " ".join(reason.split())[:500]
    if not reason:
        raise InvalidInput.for_field(
            "reason", "Give a reason; it is recorded in the audit log.", code="REASON_REQUIRED"
        )
    if priority not in IssuePriority.values:
        raise InvalidInput.for_field("priority", f"Unknown priority '{priority}'.", code="INVALID_PRIORITY")
    with transaction.atomic():
        issue = lock_issue(issue)
        refuse_if_closed(issue)
        if issue.priority == priority:
            return issue
        before = issue.priority
        issue.priority = priority
        issue.save(update_fields=["priority", "updated_at"])
        record(
            workspace=issue.workspace,
            event_type="support_issue.updated",
            resource_type="support_issue",
            resource_id=issue.pk,
            summary=f"Support issue #{issue.pk} updated: priority ({before} to {priority}): {reason}",
            metadata={"changes": {"priority": {"before": before, "after": priority}}, "reason": reason},
        )
    return issue


def may_be_assigned(user: User) -> bool:
    """Active staff in the Support group, or a superuser."""
    if not (user.is_active and user.is_staff):
        return False
    return user.is_superuser or user.groups.filter(name=SUPPORT_GROUP_NAME).exists()


def add_staff_reply(*, issue: SupportIssue, staff: User, body: str) -> Comment:
    """Staff answer in the thread; the workspace sees it as a comment signed by the staff member."""
    signature = display_name_of(staff)[: 120 - len(STAFF_DISPLAY_SUFFIX)] + STAFF_DISPLAY_SUFFIX
    with transaction.atomic():
        issue = lock_issue(issue)
        refuse_if_closed(issue)
        comment = Comment.objects.create(
            issue=issue, author=staff, kind=CommentKind.STAFF_REPLY, body=body, display_name=signature
        )
        issue.save(update_fields=["updated_at"])
        record(
            workspace=issue.workspace,
            event_type="comment.added",
            resource_type="support_issue",
            resource_id=issue.pk,
            summary=f"Centrali Support replied to support issue #{issue.pk}",
            metadata={"comment_id": str(comment.pk)},
        )
        if issue.created_by_id:
            notify_on_commit("support.notify_creator_of_staff_reply", comment.pk)
    return comment


def add_internal_note(*, issue: SupportIssue, staff: User, body: str) -> Comment:
    """A note between staff; it never appears through the API or in the export."""
    with transaction.atomic():
        issue = lock_issue(issue)
        comment = Comment.objects.create(
            issue=issue, author=staff, kind=CommentKind.INTERNAL_NOTE, body=body, display_name=display_name_of(staff)
        )
        record(
            workspace=issue.workspace,
            event_type="support_issue.internal_note_added",
            resource_type="support_issue",
            resource_id=issue.pk,
            # The note's text stays out of the workspace's audit log.
            summary=f"Staff added an internal note to support issue #{issue.pk}",
            metadata={"comment_id": str(comment.pk)},
        )
    return comment
