"""Reads of the support app. A workspace sees only its own issues, and never staff internal notes."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet

from audit.selectors import recent_activity
from centrali.compiled import CompiledQuery
from centrali.errors import NotFound
from centrali.paging import CursorParams, first_page_result, keyset_page, with_total
from support.models import PUBLIC_COMMENT_KINDS, Comment, IssueStatus, SupportIssue

if TYPE_CHECKING:
    from workspaces.models import Workspace


def _pk(raw: str) -> int | None:
    """`raw` as a primary key, or None when it cannot be one (not an integer, out of range)."""
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if 0 < value < 2**63 else None


def issues_of(*, workspace: Workspace) -> QuerySet[SupportIssue]:
    """The workspace's issues, newest first (the list endpoint filters them further). Read through
    the workspace's related manager, each issue's `workspace` is that instance: no join, no copies."""
    return workspace.support_issues.order_by("-created_at", "-id")


def _newest_issues(*, workspace_id: uuid.UUID, variant: int) -> QuerySet[SupportIssue]:
    return with_total(SupportIssue.objects.filter(workspace_id=workspace_id).order_by("-created_at", "-id"))[:variant]


_NEWEST_ISSUES = CompiledQuery(
    _newest_issues, placeholders={"workspace_id": (SupportIssue, "workspace", uuid.UUID(int=0))}
)


def first_issues_page(*, workspace: Workspace, limit: int) -> tuple[list[SupportIssue], int]:
    """The first page of `issues_of` (the console's list) and the total, in one compiled query per page size."""
    issues = _NEWEST_ISSUES.fetch(workspace_id=workspace.pk, variant=limit)
    for issue in issues:
        issue.workspace = workspace  # as the related manager gives it
    return first_page_result(issues)


def get_issue(*, workspace: Workspace, issue_id: str) -> SupportIssue:
    """The workspace's issue `issue_id`; 404 for unknown ids and ids of another workspace."""
    pk = _pk(issue_id)
    issue = SupportIssue.objects.select_related("workspace").filter(workspace=workspace, pk=pk).first() if pk else None
    if issue is None:
        raise NotFound(f"Support issue '{issue_id}' not found.", code="ISSUE_NOT_FOUND")
    return issue


def public_comments_page(*, issue: SupportIssue, cursor: CursorParams) -> tuple[list[Comment], str | None, bool]:
    """(comments, next_cursor, has_more): newest first, staff internal notes left out."""
    return keyset_page(Comment.objects.filter(issue=issue, kind__in=PUBLIC_COMMENT_KINDS), cursor)


def get_public_comment(*, issue: SupportIssue, comment_id: str) -> Comment:
    """A comment of the issue the workspace may see; 404 for unknown ids and staff internal notes."""
    pk = _pk(comment_id)
    comment = Comment.objects.filter(issue=issue, pk=pk, kind__in=PUBLIC_COMMENT_KINDS).first() if pk else None
    if comment is None:
        raise NotFound(f"Comment '{comment_id}' not found.", code="COMMENT_NOT_FOUND")
    return comment


def thread_of(*, issue: SupportIssue) -> list[Comment]:
    """Every comment of the issue, internal notes included, oldest first: the staff console's view."""
    return list(Comment.objects.filter(issue=issue).select_related("author").order_by("id"))


def console_context(*, issue: SupportIssue, activity_limit: int = 10) -> dict[str, Any]:
    """What the staff console shows beside a thread: the workspace's plan and recent activity."""
    workspace = issue.workspace
    return {
        "workspace": workspace,
        "plan": workspace.plan,
        "recent_activity": recent_activity(workspace=workspace, limit=activity_limit),
        "open_issue_count": SupportIssue.objects.filter(workspace=workspace).exclude(status=IssueStatus.CLOSED).count(),
    }
