"""Publishing Celery tasks from services: after commit, and never failing the caller.

A broker outage must not turn a committed write into a 500 (the client would retry
and duplicate it). Work that must not be lost has a sweeper that finds it by its
state in the database and publishes it again; notifications are best effort.
"""

import logging
from functools import partial

from django.db import transaction
from kombu.exceptions import OperationalError as BrokerError

logger = logging.getLogger(__name__)

# Fail fast when the broker is down: a couple of quick retries, then give up.
PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
# Errors of publishing a task: the broker is unreachable (or, for the filesystem broker, its folder).
PUBLISH_ERRORS = (BrokerError, OSError)


def publish(task, *args, **kwargs):
    """Send `task` now; True if the broker took it, False (logged) if it was unreachable."""
    try:
        task.apply_async(args=args, kwargs=kwargs, retry_policy=PUBLISH_RETRY_POLICY)
    except PUBLISH_ERRORS:
        logger.warning("broker unavailable: %s was not enqueued", task.name, exc_info=True)
        return False
    return True


def publish_on_commit(task, *args, **kwargs):
    """Send `task` once the current transaction commits (at once outside one)."""
    transaction.on_commit(partial(publish, task, *args, **kwargs))
