"""Writes of the support app. Each is one transaction that records its audit event;
notifications leave through Celery once the transaction commits."""

import unicodedata

import structlog
from django.db import transaction
from django.utils import timezone

from audit.events import ActorType
from audit.services import record
from centrali.errors import InvalidInput, PermissionDenied
from centrali.tasks import publish_on_commit
from support.models import (
    ALLOWED_TRANSITIONS,
    URGENT_PRIORITIES,
    Comment,
    CommentKind,
    IssueStatus,
    SupportIssue,
)
from workspaces.models import WORKSPACE_ADMINS

STAFF_DISPLAY_SUFFIX = " (Centrali Support)"
_AUDIT_TEXT_LIMIT = 1000

logger = structlog.get_logger(__name__)


def _notify_on_commit(task_name, *args):
    """Queue a notification once the transaction commits. Notifications are best effort: with the
    broker down the write still succeeds, and the unsent notification is logged (event
    `support.notification_not_queued`, with the task and its arguments) for an operator to follow up."""

    def log_unsent():
        logger.warning("support.notification_not_queued", task=task_name, args=[str(arg) for arg in args])

    publish_on_commit(task_name, *args, on_failure=log_unsent)


def claims_to_be_staff(display_name):
    """Whether a name would pass for a staff reply's signature: it mentions Centrali Support in any
    case, spacing or compatibility form (full-width letters and the like)."""
    folded = " ".join(unicodedata.normalize("NFKC", display_name).casefold().split())
    return STAFF_DISPLAY_SUFFIX.strip(" ()").casefold() in folded


def display_name_of(user):
    name = user.get_full_name()
    return (name if name and not claims_to_be_staff(name) else user.username)[:120]


def _locked(issue):
    return SupportIssue.objects.select_for_update(of=("self",)).select_related("workspace").get(pk=issue.pk)


def create_issue(*, workspace, author, title, description, issue_type, priority, category=""):
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
            actor=author,
            metadata={"type": issue_type, "priority": priority, "category": category},
        )
        if priority in URGENT_PRIORITIES:
            _notify_on_commit("support.notify_staff_of_new_issue", issue.pk)
    return issue


def check_transition(*, before, after):
    """400 INVALID_STATUS_TRANSITION unless `after` is reachable from `before` (see ALLOWED_TRANSITIONS)."""
    if after != before and after not in ALLOWED_TRANSITIONS[before]:
        allowed = ", ".join(sorted(ALLOWED_TRANSITIONS[before])) or "none, it is final"
        raise InvalidInput(
            f"An issue cannot go from '{before}' to '{after}'.",
            code="INVALID_STATUS_TRANSITION",
            details={"status": [f"From '{before}' the allowed statuses are: {allowed}."]},
        )


def may_update_issue(*, user, role, issue):
    """Members update their own issues; owners and admins any issue of their workspace."""
    return role in WORKSPACE_ADMINS or issue.created_by_id == user.pk


def update_issue(*, issue, actor, actor_type=None, **changes):
    """Change title, description, status and/or priority; records the fields that changed, before and after."""
    with transaction.atomic():
        issue = _locked(issue)
        if "status" in changes:
            check_transition(before=issue.status, after=changes["status"])
        diff = {
            field: {"before": getattr(issue, field), "after": value}
            for field, value in changes.items()
            if field in {"title", "description", "status", "priority"} and getattr(issue, field) != value
        }
        if not diff:
            return issue
        for field, change in diff.items():
            setattr(issue, field, change["after"])
        now = timezone.now()
        if "status" in diff:
            issue.resolved_at = now if issue.status == IssueStatus.RESOLVED else issue.resolved_at
            issue.closed_at = now if issue.status == IssueStatus.CLOSED else None
        issue.save()
        record(
            workspace=issue.workspace,
            event_type="support_issue.updated",
            resource_type="support_issue",
            resource_id=issue.pk,
            summary=f"Support issue #{issue.pk} updated: {', '.join(sorted(diff))}",
            actor=actor,
            actor_type=actor_type,
            metadata={"changes": _audit_safe(diff)},
        )
        if "status" in diff and issue.created_by_id and issue.created_by_id != getattr(actor, "pk", None):
            _notify_on_commit(
                "support.notify_creator_of_status_change", issue.pk, diff["status"]["before"], diff["status"]["after"]
            )
    return issue


def assign_issue(*, issue, staff):
    """Staff: take the issue. Assigning an open issue also moves it in progress, in the same transaction."""
    with transaction.atomic():
        issue = _locked(issue)
        if issue.assigned_to_id == staff.pk:
            return issue
        before = str(issue.assigned_to_id) if issue.assigned_to_id else None
        issue.assigned_to = staff
        issue.save(update_fields=["assigned_to", "updated_at"])
        record(
            workspace=issue.workspace,
            event_type="support_issue.assigned",
            resource_type="support_issue",
            resource_id=issue.pk,
            summary=f"Support issue #{issue.pk} assigned to {display_name_of(staff)}",
            actor=staff,
            actor_type=ActorType.STAFF,
            metadata={"changes": {"assigned_to": {"before": before, "after": str(staff.pk)}}},
        )
        if issue.status == IssueStatus.OPEN:
            issue = update_issue(issue=issue, actor=staff, actor_type=ActorType.STAFF, status=IssueStatus.IN_PROGRESS)
    return issue


def _audit_safe(diff):
    """Long texts are cut in the audit metadata; the issue itself holds them whole."""
    return {
        field: {side: value[:_AUDIT_TEXT_LIMIT] if isinstance(value, str) else value for side, value in change.items()}
        for field, change in diff.items()
    }


def _refuse_if_closed(issue):
    if issue.is_closed:
        raise InvalidInput(
            "This issue is closed; open a new issue instead.", code="ISSUE_CLOSED", details={"status": ["closed"]}
        )


def add_comment(*, issue, author, body, display_name=""):
    """A workspace member's comment on an issue of their workspace."""
    with transaction.atomic():
        issue = _locked(issue)
        _refuse_if_closed(issue)
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
            actor=author,
            metadata={"comment_id": str(comment.pk)},
        )
    return comment


def add_staff_reply(*, issue, staff, body):
    """Staff answer in the thread; the workspace sees it as a comment signed by the staff member."""
    with transaction.atomic():
        issue = _locked(issue)
        _refuse_if_closed(issue)
        comment = Comment.objects.create(
            issue=issue,
            author=staff,
            kind=CommentKind.STAFF_REPLY,
            body=body,
            display_name=(display_name_of(staff)[: 120 - len(STAFF_DISPLAY_SUFFIX)] + STAFF_DISPLAY_SUFFIX),
        )
        issue.save(update_fields=["updated_at"])
        record(
            workspace=issue.workspace,
            event_type="comment.added",
            resource_type="support_issue",
            resource_id=issue.pk,
            summary=f"Centrali Support replied to support issue #{issue.pk}",
            actor=staff,
            actor_type=ActorType.STAFF,
            metadata={"comment_id": str(comment.pk)},
        )
        if issue.created_by_id:
            _notify_on_commit("support.notify_creator_of_staff_reply", comment.pk)
    return comment


def add_internal_note(*, issue, staff, body):
    """A note between staff; it never appears through the API or in the export."""
    with transaction.atomic():
        issue = _locked(issue)
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
            actor=staff,
            actor_type=ActorType.STAFF,
            metadata={"comment_id": str(comment.pk)},
        )
    return comment


def _refuse_unless_author(comment, actor):
    if comment.author_id != actor.pk:
        raise PermissionDenied("Only the comment's author may change or delete it.", code="NOT_COMMENT_AUTHOR")


def edit_comment(*, comment, actor, body):
    with transaction.atomic():
        comment = Comment.objects.select_for_update(of=("self",)).select_related("issue__workspace").get(pk=comment.pk)
        _refuse_unless_author(comment, actor)
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
            actor=actor,
            metadata={
                "comment_id": str(comment.pk),
                "changes": _audit_safe({"comment": {"before": before, "after": body}}),
            },
        )
    return comment


def delete_comment(*, comment, actor):
    with transaction.atomic():
        comment = Comment.objects.select_for_update(of=("self",)).select_related("issue__workspace").get(pk=comment.pk)
        _refuse_unless_author(comment, actor)
        record(
            workspace=comment.issue.workspace,
            event_type="comment.deleted",
            resource_type="support_issue",
            resource_id=comment.issue_id,
            summary=f"Comment deleted from support issue #{comment.issue_id}",
            actor=actor,
            metadata={"comment_id": str(comment.pk)},
        )
        comment.delete()
