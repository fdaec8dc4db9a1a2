"""Publishing Celery tasks from services: by name, after commit, never failing the caller.

Services name the task ("workspaces.run_export") rather than import it, so a service module
never imports its app's tasks module (which imports the services back). A broker outage must
not turn a committed write into a 500 (the client would retry and duplicate it): work that
must not be lost has a sweeper that finds it by its state in the database and publishes it
again; notifications are best effort and only logged when they cannot be queued.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog
from celery import Task
from django.db import transaction
from kombu.exceptions import OperationalError as BrokerError

from centrali import context
from centrali.celery import app

logger = structlog.get_logger(__name__)

# Fail fast when the broker is down: a couple of quick retries, then give up.
PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
# Errors of publishing a task: the broker is unreachable (or, for the filesystem broker, its folder).
PUBLISH_ERRORS = (BrokerError, OSError)


def _registered_task(task_name: str) -> Task[..., Any] | None:
    if task_name not in app.tasks:
        # Outside a worker, the apps' tasks modules are discovered on first use.
        app.loader.import_default_modules()
    return app.tasks.get(task_name)


def publish(task_name: str, *args: Any, **kwargs: Any) -> bool:
    """Send the task named `task_name` now; True if the broker took it, False (logged) if not.

    The task is looked up in the app's registry, so eager mode (tests) runs it in-process.
    """
    task = _registered_task(task_name)
    if task is None:
        logger.error("task_not_registered", task=task_name)
        return False
    try:
        task.apply_async(args=args, kwargs=kwargs, retry_policy=PUBLISH_RETRY_POLICY)
    except PUBLISH_ERRORS:
        logger.warning("task_not_enqueued", task=task_name, reason="broker unavailable", exc_info=True)
        return False
    return True


def publish_on_commit(task_name: str, *args: Any, on_failure: Callable[[], None] | None = None, **kwargs: Any) -> None:
    """Send the task once the current transaction commits (at once outside one).

    `on_failure` runs (after the commit) when the broker did not take it, for a caller that
    records the failure (a job marked failed) instead of leaving the work to a sweeper. The task
    is published in the acting context of the caller (its request id), whenever the commit runs.
    """
    acting = context.current_context()

    def send() -> None:
        with context.restored(acting):
            if not publish(task_name, *args, **kwargs) and on_failure is not None:
                on_failure()

    transaction.on_commit(send)
