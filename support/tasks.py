"""Support notifications, queued by support.services once their transaction commits."""

from __future__ import annotations

from collections.abc import Callable
from smtplib import SMTPException
from typing import ParamSpec, TypeVar

import structlog
from celery import Task, shared_task
from django.conf import settings

from support import notifications
from support.models import Comment, SupportIssue

logger = structlog.get_logger(__name__)

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _notification_task(name: str) -> Callable[[Callable[_P, _R]], Task[_P, _R]]:
    """A notification task: a mail server that fails or cannot be reached is retried, backing off."""
    return shared_task(name=name, autoretry_for=(SMTPException, OSError), retry_backoff=True, max_retries=5)


def _issue(issue_id: int) -> SupportIssue | None:
    return SupportIssue.objects.select_related("workspace", "workspace__plan", "created_by").filter(pk=issue_id).first()


@_notification_task("support.notify_staff_of_new_issue")
def notify_staff_of_new_issue(issue_id: int) -> int:
    """Staff hear of every new high or urgent issue."""
    issue = _issue(issue_id)
    recipients = notifications.staff_recipients()
    if issue is None or not recipients:
        logger.warning("support.notify_staff_skipped", issue_id=issue_id, recipients=len(recipients))
        return 0
    context = {"issue": issue, "console_url": settings.SUPPORT_CONSOLE_URL}
    return notifications.send(template="new_urgent_issue", context=context, to=recipients)


@_notification_task("support.notify_creator_of_staff_reply")
def notify_creator_of_staff_reply(comment_id: int) -> int:
    """The issue's creator hears of each staff reply in its thread."""
    comment = Comment.objects.select_related("issue__workspace", "issue__created_by").filter(pk=comment_id).first()
    if comment is None or comment.issue.created_by is None or not comment.issue.created_by.email:
        return 0
    return notifications.send(
        template="staff_reply",
        context={"issue": comment.issue, "comment": comment},
        to=[comment.issue.created_by.email],
    )


@_notification_task("support.notify_creator_of_status_change")
def notify_creator_of_status_change(issue_id: int, before: str, after: str) -> int:
    """The issue's creator hears when someone else moves it to another status."""
    issue = _issue(issue_id)
    if issue is None or issue.created_by is None or not issue.created_by.email:
        return 0
    return notifications.send(
        template="status_changed",
        context={"issue": issue, "before": before, "after": after},
        to=[issue.created_by.email],
    )
