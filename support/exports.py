"""The support sections of the workspace export archive. Staff internal notes are not the workspace's data."""

from centrali.exports import ExportSection
from support.models import PUBLIC_COMMENT_KINDS, Comment, SupportIssue


def _iso(value):
    return value.isoformat().replace("+00:00", "Z") if value else None


def serialize_issue(issue):
    return {
        "id": issue.pk,
        "summary": issue.title,
        "description": issue.description,
        "type": issue.type,
        "priority": issue.priority,
        "status": issue.status,
        "category": issue.category,
        "createdBy": str(issue.created_by_id) if issue.created_by_id else None,
        "assignedTo": str(issue.assigned_to_id) if issue.assigned_to_id else None,
        "createdAt": _iso(issue.created_at),
        "updatedAt": _iso(issue.updated_at),
        "resolvedAt": _iso(issue.resolved_at),
        "closedAt": _iso(issue.closed_at),
    }


def serialize_comment(comment):
    return {
        "id": comment.pk,
        "issueId": comment.issue_id,
        "comment": comment.body,
        "type": comment.kind,
        "displayName": comment.display_name,
        "authorId": str(comment.author_id) if comment.author_id else None,
        "createdAt": _iso(comment.created_at),
        "editedAt": _iso(comment.edited_at),
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
