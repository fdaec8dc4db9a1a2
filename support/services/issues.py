"""Support issues: opening one, who may change it, and its status workflow."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from audit.services import record
from centrali.errors import InvalidInput, PreconditionFailed
from support.models import ALLOWED_TRANSITIONS, URGENT_PRIORITIES, IssueStatus, SupportIssue
from support.services.notifications import notify_on_commit
from workspaces.models import WORKSPACE_ADMINS

if TYPE_CHECKING:
    from datetime import datetime

    from workspaces.models import User, Workspace

# Long texts are cut in the audit metadata; the issue and its comments hold them whole.
_AUDIT_TEXT_LIMIT = 1000

Changes = dict[str, dict[str, Any]]  # field -> {"before": ..., "after": ...}


def lock_issue(issue: SupportIssue) -> SupportIssue:
    """A fresh copy of the issue (with its workspace), its row locked until the transaction ends."""
    return SupportIssue.objects.select_for_update(of=("self",)).select_related("workspace").get(pk=issue.pk)


def refuse_if_closed(issue: SupportIssue) -> None:
    """Closed is final: nobody writes in its thread any more (400 ISSUE_CLOSED)."""
    if issue.is_closed:
        raise InvalidInput(
            "This issue is closed; open a new issue instead.", code="ISSUE_CLOSED", details={"status": ["closed"]}
        )


def audit_changes(changes: Changes) -> Changes:
    """`changes` as the audit metadata holds them: long texts cut."""
    return {
        field: {side: value[:_AUDIT_TEXT_LIMIT] if isinstance(value, str) else value for side, value in change.items()}
        for field, change in changes.items()
    }


def create_issue(
    *,
    workspace: Workspace,
    author: User,
    title: str,
    description: str,
    issue_type: str,
    priority: str,
    category: str = "",
) -> SupportIssue:
    """Open an issue; staff hear of high and urgent ones once it commits."""
    with transaction.atomic():
        issue = SupportIssue.objects.create(
            workspace=workspace,
            title=title,
            description=description,
            type=issue_type,
            priority=priority,
            category=category,
            created_by=author,
        )
        record(
            workspace=workspace,
            event_type="support_issue.created",
            resource_type="support_issue",
            resource_id=issue.pk,
            summary=f"Support issue #{issue.pk} opened: {title}",
            metadata={"type": issue_type, "priority": priority, "category": category},
        )
        if priority in URGENT_PRIORITIES:
            notify_on_commit("support.notify_staff_of_new_issue", issue.pk)
    return issue


def check_transition(*, before: str, after: str) -> None:
    """400 INVALID_STATUS_TRANSITION unless `after` is reachable from `before` (see ALLOWED_TRANSITIONS)."""
    reachable = ALLOWED_TRANSITIONS[IssueStatus(before)]
    if after != before and after not in reachable:
        allowed = ", ".join(sorted(reachable)) or "none, it is final"
        raise InvalidInput(
            f"An issue cannot go from '{before}' to '{after}'.",
            code="INVALID_STATUS_TRANSITION",
            details={"status": [f"From '{before}' the allowed statuses are: {allowed}."]},
        )


def may_update_issue(*, user: User, role: str, issue: SupportIssue) -> bool:
    """Members update their own issues; owners and admins any issue of their workspace."""
    return role in WORKSPACE_ADMINS or issue.created_by_id == user.pk


def update_issue(
    *,
    issue: SupportIssue,
    actor: User,
    title: str | None = None,
    description: str | None = None,
    status: str | None = None,
    priority: str | None = None,
    expected_version: datetime | None = None,
) -> SupportIssue:
    """Change the fields given; records those that changed, before and after.

    `actor` is who changes it (a member through the API, staff in the console): the issue's
    creator hears of a status change, unless they made it. `expected_version` (the `updated_at`
    the caller read, from If-Match): the change applies only while the issue is still at it,
    checked under the row lock, else PreconditionFailed.
    """
    given = {"title": title, "description": description, "status": status, "priority": priority}
    with transaction.atomic():
        issue = lock_issue(issue)
        if expected_version is not None and issue.updated_at != expected_version:
            raise PreconditionFailed(
                "The support issue changed since it was read; read it again and retry.", code="PRECONDITION_FAILED"
            )
        if status is not None:
            check_transition(before=issue.status, after=status)
        changes: Changes = {
            field: {"before": getattr(issue, field), "after": value}
            for field, value in given.items()
            if value is not None and getattr(issue, field) != value
        }
        if not changes:
            return issue
        for field, change in changes.items():
            setattr(issue, field, change["after"])
        if "status" in changes:
            now = timezone.now()
            issue.resolved_at = now if issue.status == IssueStatus.RESOLVED else issue.resolved_at
            issue.closed_at = now if issue.status == IssueStatus.CLOSED else None
        issue.save()
        record(
            workspace=issue.workspace,
            event_type="support_issue.updated",
            resource_type="support_issue",
            resource_id=issue.pk,
            summary=f"Support issue #{issue.pk} updated: {', '.join(sorted(changes))}",
            metadata={"changes": audit_changes(changes)},
        )
        if "status" in changes and issue.created_by_id and issue.created_by_id != actor.pk:
            notify_on_commit(
                "support.notify_creator_of_status_change",
                issue.pk,
                changes["status"]["before"],
                changes["status"]["after"],
            )
    return issue
