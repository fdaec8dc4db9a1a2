"""The thread of an issue as members write it: their comments, and how names are signed."""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from audit.services import record
from centrali.errors import PermissionDenied
from support.models import Comment, CommentKind, SupportIssue
from support.services.issues import audit_changes, lock_issue, refuse_if_closed

if TYPE_CHECKING:
    from workspaces.models import User

STAFF_DISPLAY_SUFFIX = " (Centrali Support)"


def claims_to_be_staff(display_name: str) -> bool:
    """Whether a name would pass for a staff reply's signature: it mentions Centrali Support in any
    case, spacing or compatibility form (full-width letters and the like)."""
    folded = " ".join(unicodedata.normalize("NFKC", display_name).casefold().split())
    return STAFF_DISPLAY_SUFFIX.strip(" ()").casefold() in folded


def display_name_of(user: User) -> str:
    """The user's full name, or their username when they have none or it passes for staff's signature."""
    name = user.get_full_name()
    return (name if name and not claims_to_be_staff(name) else user.username)[:120]


def add_comment(*, issue: SupportIssue, author: User, body: str, display_name: str = "") -> Comment:
    """A workspace member's comment on an issue of their workspace."""
    with transaction.atomic():
        issue = lock_issue(issue)
        refuse_if_closed(issue)
        comment = Comment.objects.create(
            issue=issue,
            author=author,
            kind=CommentKind.COMMENT,
            body=body,
            display_name=display_name or display_name_of(author),
        )
        issue.save(update_fields=["updated_at"])
        record(
            workspace=issue.workspace,
            event_type="comment.added",
            resource_type="support_issue",
            resource_id=issue.pk,
            summary=f"Comment added to support issue #{issue.pk}",
            metadata={"comment_id": str(comment.pk)},
        )
    return comment


def _lock_own_comment(comment: Comment, editor: User) -> Comment:
    """A fresh copy of the comment, its row locked; 403 NOT_COMMENT_AUTHOR unless `editor` wrote it."""
    comment = Comment.objects.select_for_update(of=("self",)).select_related("issue__workspace").get(pk=comment.pk)
    if comment.author_id != editor.pk:
        raise PermissionDenied("Only the comment's author may change or delete it.", code="NOT_COMMENT_AUTHOR")
    return comment


def edit_comment(*, comment: Comment, actor: User, body: str) -> Comment:
    """The author rewrites their comment; `edited_at` tells readers it changed."""
    with transaction.atomic():
        comment = _lock_own_comment(comment, actor)
        if body == comment.body:
            return comment
        before = comment.body
        comment.body = body
        comment.edited_at = timezone.now()
        comment.save(update_fields=["body", "edited_at", "updated_at"])
        record(
            workspace=comment.issue.workspace,
            event_type="comment.edited",
            resource_type="support_issue",
            resource_id=comment.issue_id,
            summary=f"Comment edited on support issue #{comment.issue_id}",
            metadata={
                "comment_id": str(comment.pk),
                "changes": audit_changes({"comment": {"before": before, "after": body}}),
            },
        )
    return comment


def delete_comment(*, comment: Comment, actor: User) -> None:
    """The author removes their comment."""
    with transaction.atomic():
        comment = _lock_own_comment(comment, actor)
        record(
            workspace=comment.issue.workspace,
            event_type="comment.deleted",
            resource_type="support_issue",
            resource_id=comment.issue_id,
            summary=f"Comment deleted from support issue #{comment.issue_id}",
            metadata={"comment_id": str(comment.pk)},
        )
        comment.delete()
