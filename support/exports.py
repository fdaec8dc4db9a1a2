"""The support sections of the workspace export archive. Staff internal notes are not the workspace's data."""

from __future__ import annotations

from typing import Any

from centrali.exports import ExportSection
from centrali.formats import iso_utc
from support.models import PUBLIC_COMMENT_KINDS, Comment, SupportIssue


def serialize_issue(issue: SupportIssue) -> dict[str, Any]:
    return {
        "id": issue.pk,
        "summary": issue.title,
        "description": issue.description,
        "type": issue.type,
        "priority": issue.priority,
        "status": issue.status,
        "category": issue.category,
        "created_by": str(issue.created_by_id) if issue.created_by_id else None,
        "assigned_to": str(issue.assigned_to_id) if issue.assigned_to_id else None,
        "created_at": iso_utc(issue.created_at),
        "updated_at": iso_utc(issue.updated_at),
        "resolved_at": iso_utc(issue.resolved_at),
        "closed_at": iso_utc(issue.closed_at),
    }


def serialize_comment(comment: Comment) -> dict[str, Any]:
    return {
        "id": comment.pk,
        "issue_id": comment.issue_id,
        "comment": comment.body,
        "type": comment.kind,
        "display_name": comment.display_name,
        "author_id": str(comment.author_id) if comment.author_id else None,
        "created_at": iso_utc(comment.created_at),
        "edited_at": iso_utc(comment.edited_at),
    }


EXPORT_SECTIONS = (
    ExportSection(
        name="support_issues",
        queryset=lambda workspace: SupportIssue.objects.filter(workspace=workspace).order_by("pk"),
        serialize=serialize_issue,
    ),
    ExportSection(
        name="support_comments",
        queryset=lambda workspace: Comment.objects.filter(
            issue__workspace=workspace, kind__in=PUBLIC_COMMENT_KINDS
        ).order_by("pk"),
        serialize=serialize_comment,
    ),
)
