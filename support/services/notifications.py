"""Queueing the support emails (support.tasks sends them) once the change they announce commits."""

from __future__ import annotations

import structlog

from centrali.tasks import publish_on_commit

logger = structlog.get_logger(__name__)


def notify_on_commit(task_name: str, *args: object) -> None:
    """Queue the notification task `task_name` once the transaction commits.

    Notifications are best effort: with the broker down the write still succeeds, and the unsent
    notification is logged (event `support.notification_not_queued`, with the task and its
    arguments) for an operator to follow up.
    """

    def log_unsent() -> None:
        logger.warning("support.notification_not_queued", task=task_name, args=[str(arg) for arg in args])

    publish_on_commit(task_name, *args, on_failure=log_unsent)
