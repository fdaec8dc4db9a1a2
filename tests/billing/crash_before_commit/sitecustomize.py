"""Fault injection for tests/billing/test_webhook_worker.py, in the Celery worker's own process.

Python imports this module at start-up when its folder is on PYTHONPATH (the test starts one
worker so). In each pool process, the first apply of every Stripe event breaks after dj-stripe's
sync and the service's effects are written (Stripe already fetched) and before the transaction
commits: WEBHOOK_CRASH=exit kills the process (a crash: its task is redelivered), =raise raises a
database error (its attempt fails and is retried). A file per event in WEBHOOK_CRASH_MARKS says
it already broke once. A real crash at that instant cannot be timed from outside, so it is patched.
"""

import os
from pathlib import Path

from celery import signals


@signals.worker_process_init.connect
def _break_the_first_apply_before_commit(**kwargs):
    from django.db import OperationalError

    from billing import webhooks

    marks = Path(os.environ["WEBHOOK_CRASH_MARKS"])
    mode = os.environ["WEBHOOK_CRASH"]
    apply_effects = webhooks._apply

    def apply_then_break_once(workspace, event):
        apply_effects(workspace, event)
        mark = marks / event["id"]
        if mark.exists():
            return
        mark.touch()
        if mode == "exit":
            os._exit(1)
        raise OperationalError("server closed the connection unexpectedly (injected)")

    webhooks._apply = apply_then_break_once
