"""Reads of the support console: the queue's triage columns, "waiting on staff", the dashboard's
support figures and a workspace's open issues for its customer page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery

from support.models import PUBLIC_COMMENT_KINDS, Comment, CommentKind, IssuePriority, IssueStatus, SupportIssue
from support.roles import SUPPORT_GROUP_NAME

if TYPE_CHECKING:
    from workspaces.models import User, Workspace

# Issues someone still has to act on.
UNSETTLED_STATUSES = (IssueStatus.OPEN, IssueStatus.IN_PROGRESS)


def with_last_reply(issues: QuerySet[SupportIssue]) -> QuerySet[SupportIssue]:
    """Annotate each issue with its newest public comment's kind, author name and time
    (`last_reply_kind`, `last_reply_by`, `last_reply_at`; None without comments)."""
    newest = Comment.objects.filter(issue=OuterRef("pk"), kind__in=PUBLIC_COMMENT_KINDS).order_by("-id")
    return issues.annotate(
        last_reply_kind=Subquery(newest.values("kind")[:1]),
        last_reply_by=Subquery(newest.values("display_name")[:1]),
        last_reply_at=Subquery(newest.values("created_at")[:1]),
    )


def waiting_on_staff_q() -> Q:
    """Unsettled issues whose newest public message is the customer's (or that no one answered yet).
    Needs `with_last_reply`."""
    return Q(status__in=UNSETTLED_STATUSES) & (
        Q(last_reply_kind__isnull=True) | ~Q(last_reply_kind=CommentKind.STAFF_REPLY)
    )


def waiting_on_staff() -> QuerySet[SupportIssue]:
    """Issues waiting on staff, the longest-waiting first."""
    return with_last_reply(SupportIssue.objects.select_related("workspace")).filter(waiting_on_staff_q())


@dataclass(frozen=True)
class SupportFigures:
    open_urgent: int
    open_high: int
    waiting_on_staff: int
    oldest_waiting: SupportIssue | None


def support_figures() -> SupportFigures:
    """Three queries."""
    counts = SupportIssue.objects.filter(status__in=UNSETTLED_STATUSES).aggregate(
        urgent=Count("id", filter=Q(priority=IssuePriority.URGENT)),
        high=Count("id", filter=Q(priority=IssuePriority.HIGH)),
    )
    waiting = waiting_on_staff()
    return SupportFigures(
        open_urgent=counts["urgent"],
        open_high=counts["high"],
        waiting_on_staff=waiting.count(),
        oldest_waiting=waiting.order_by("created_at", "id").first(),
    )


def open_issues_of(*, workspace: Workspace, limit: int = 20) -> list[SupportIssue]:
    """The workspace's unsettled issues, most urgent first, with their last reply."""
    issues = with_last_reply(
        SupportIssue.objects.filter(workspace=workspace, status__in=UNSETTLED_STATUSES).select_related("assigned_to")
    )
    ranked = sorted(issues[:200], key=lambda issue: (_PRIORITY_ORDER.index(issue.priority), issue.created_at))
    return ranked[:limit]


_PRIORITY_ORDER: list[str] = [IssuePriority.URGENT, IssuePriority.HIGH, IssuePriority.MEDIUM, IssuePriority.LOW]


def support_staff() -> QuerySet[User]:
    """Who an issue may be assigned to: active staff in the Support group (and superusers)."""
    users: QuerySet[User] = get_user_model().objects.filter(is_active=True, is_staff=True)
    return users.filter(Q(groups__name=SUPPORT_GROUP_NAME) | Q(is_superuser=True)).distinct().order_by("username")
