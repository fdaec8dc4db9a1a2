"""A person's support threads when the person is erased: the content stays with the workspace
(it is the workspace's history), the author becomes "erased user", and the person's email and
username, wherever a thread spells them out, become "[erased]"."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING
from uuid import UUID

from django.db import transaction
from django.db.models import Q

from support.models import Comment, SupportIssue

if TYPE_CHECKING:
    from workspaces.models import User

ERASED_AUTHOR = "erased user"
ERASED_TEXT = "[erased]"
# Shorter identifiers would match ordinary words.
_MIN_REDACTED_LENGTH = 3


@dataclass(frozen=True)
class AuthorshipErased:
    issues: int
    comments: int
    redacted: int  # issues and comments whose text named the person
    workspace_ids: frozenset[UUID]


def _redact(text: str, pattern: re.Pattern[str]) -> str:
    return pattern.sub(ERASED_TEXT, text)


def _redact_texts(identifiers: Collection[str]) -> int:
    """Replace each identifier (whole words, any case) in every issue's title and description and
    every comment's body; returns how many rows changed."""
    needles = sorted({value.strip() for value in identifiers if len(value.strip()) >= _MIN_REDACTED_LENGTH})
    if not needles:
        return 0
    pattern = re.compile(r"(?<![\w.@-])(?:" + "|".join(map(re.escape, needles)) + r")(?![\w@-])", re.IGNORECASE)
    changed = 0
    issue_match = Q()
    comment_match = Q()
    for needle in needles:
        issue_match |= Q(title__icontains=needle) | Q(description__icontains=needle)
        comment_match |= Q(body__icontains=needle)
    for issue in SupportIssue.objects.filter(issue_match).only("pk", "title", "description").iterator(chunk_size=500):
        title, description = _redact(issue.title, pattern), _redact(issue.description, pattern)
        if (title, description) != (issue.title, issue.description):
            changed += SupportIssue.objects.filter(pk=issue.pk).update(title=title, description=description)
    for comment in Comment.objects.filter(comment_match).only("pk", "body").iterator(chunk_size=500):
        body = _redact(comment.body, pattern)
        if body != comment.body:
            changed += Comment.objects.filter(pk=comment.pk).update(body=body)
    return changed


def erase_authorship(*, user: User) -> AuthorshipErased:
    """Clear `user` as author of issues and comments (and as assignee), sign their comments as
    "erased user", and redact their email and username from every thread's text. Not audited
    here: the erasure records one entry per workspace concerned."""
    with transaction.atomic():
        issues = SupportIssue.objects.filter(created_by=user)
        comments = Comment.objects.filter(author=user)
        workspace_ids = frozenset(
            {
                *issues.values_list("workspace_id", flat=True),
                *comments.values_list("issue__workspace_id", flat=True),
            }
        )
        issue_count = issues.update(created_by=None)
        SupportIssue.objects.filter(assigned_to=user).update(assigned_to=None)
        comment_count = comments.update(author=None, display_name=ERASED_AUTHOR)
        redacted = _redact_texts([user.email, user.username])
    return AuthorshipErased(issues=issue_count, comments=comment_count, redacted=redacted, workspace_ids=workspace_ids)
