"""Support notifications, queued by support.services once their transaction commits."""

from smtplib import SMTPException

import structlog
from celery import shared_task
from django.conf import settings

from support import notifications
from support.models import Comment, SupportIssue

logger = structlog.get_logger(__name__)

_RETRY = {"autoretry_for": (SMTPException, OSError), "retry_backoff": True, "max_retries": 5}


def _issue(issue_id):
    return SupportIssue.objects.select_related("workspace", "workspace__plan", "created_by").filter(pk=issue_id).first()


@shared_task(name="support.notify_staff_of_new_issue", **_RETRY)
def notify_staff_of_new_issue(issue_id):
    """Staff hear of every new high or urgent issue."""
    issue = _issue(issue_id)
    recipients = notifications.staff_recipients()
    if issue is None or not recipients:
        logger.warning("support.notify_staff_skipped", issue_id=issue_id, recipients=len(recipients))
        return 0
    context = {"issue": issue, "console_url": settings.SUPPORT_CONSOLE_URL}
    return notifications.send(template="new_urgent_issue", context=context, to=recipients)


@shared_task(name="support.notify_creator_of_staff_reply", **_RETRY)
def notify_creator_of_staff_reply(comment_id):
    comment = Comment.objects.select_related("issue__workspace", "issue__created_by").filter(pk=comment_id).first()
    if comment is None or comment.issue.created_by is None or not comment.issue.created_by.email:
        return 0
    return notifications.send(
        template="staff_reply",
        context={"issue": comment.issue, "comment": comment},
        to=[comment.issue.created_by.email],
    )


@shared_task(name="support.notify_creator_of_status_change", **_RETRY)
def notify_creator_of_status_change(issue_id, before, after):
    issue = _issue(issue_id)
    if issue is None or issue.created_by is None or not issue.created_by.email:
        return 0
    return notifications.send(
        template="status_changed",
        context={"issue": issue, "before": before, "after": after},
        to=[issue.created_by.email],
    )
