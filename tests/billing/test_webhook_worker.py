"""Stripe webhooks end to end: the API behind a live server acknowledges, a real Celery worker on
Redis applies, against PostgreSQL and the local Stripe; each event's effects apply exactly once."""

import json
import threading
from pathlib import Path

import pytest
import redis
import requests
from django.db import connection

from audit.models import AuditEvent
from billing import webhooks
from billing.models import StripeWebhookEvent, StripeWebhookFailure
from centrali.celery import app as celery_app
from tests.billing.helpers import SECRET_KEY, WEBHOOK_SECRET, closed_loopback_url, sign, stripe_event, subscribe
from tests.e2e.harness import wait_for

pytestmark = pytest.mark.e2e

CRASH_BEFORE_COMMIT = Path(__file__).parent / "crash_before_commit"


@pytest.fixture
def worker_env(stripe_server):
    """What a worker needs to reach the local Stripe, with retries a fraction of a second apart."""
    return {
        "STRIPE_SECRET_KEY": SECRET_KEY,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": stripe_server.url,
        "STRIPE_WEBHOOK_RETRY_BASE_SECONDS": "0.2",
    }


@pytest.fixture
def subscribed(e2e, stripe_sandbox, workspace, owner_client):
    subscribe(owner_client, workspace, stripe_sandbox, plan="pro")
    return workspace


@pytest.fixture
def paid(subscribed, stripe_sandbox):
    """An invoice.paid event of the subscribed workspace, as Stripe would send it."""
    customer = subscribed.djstripe_customers.get().id
    return stripe_event("invoice.paid", stripe_sandbox.get("invoices", customer=customer)["data"][0])


@pytest.fixture
def post_webhook(live_api):
    def post(event):
        payload = json.dumps(event)
        return requests.post(
            f"{live_api}/webhooks/stripe",
            data=payload,
            headers={"Content-Type": "application/json", "Stripe-Signature": sign(payload)},
            timeout=30,
        )

    return post


def _status(event):
    return StripeWebhookEvent.objects.filter(stripe_event_id=event["id"]).values_list("status", flat=True).first()


def _paid_audits(workspace):
    return AuditEvent.objects.filter(workspace_id=workspace.pk, type="invoice.paid").count()


def _queued(settings):
    return redis.Redis.from_url(settings.REDIS_URL).llen("celery")


def _drained(settings):
    """Nothing left in the queue, nothing running or reserved on any worker."""
    if _queued(settings):
        return False
    inspect = celery_app.control.inspect(timeout=1)
    busy = [tasks for reply in (inspect.active(), inspect.reserved()) for tasks in (reply or {}).values()]
    return not any(busy)


def _apply_again(event):
    """A stray task for an event (what a sweep racing a retry sends), straight to the broker."""
    celery_app.send_task("billing.apply_stripe_event", args=[event["id"]])


def test_a_redelivery_applies_nothing_twice(subscribed, paid, post_webhook, start_celery_worker, worker_env, settings):
    start_celery_worker(**worker_env)

    assert post_webhook(paid).json() == {"received": True, "duplicate": False}
    assert post_webhook(paid).json() == {"received": True, "duplicate": True}  # while it waits for the worker
    wait_for(lambda: _status(paid) == "applied", "the worker to apply the event")
    assert post_webhook(paid).json() == {"received": True, "duplicate": True}  # once it is applied
    _apply_again(paid)
    wait_for(lambda: _drained(settings), "the worker to finish every task")

    assert _paid_audits(subscribed) == 1
    assert StripeWebhookEvent.objects.get(stripe_event_id=paid["id"]).attempts == 1


def test_concurrent_duplicate_deliveries_apply_once(
    subscribed, paid, live_api, start_celery_worker, worker_env, settings
):
    assert connection.vendor == "postgresql"
    start_celery_worker(**worker_env)
    start_celery_worker(**worker_env)  # two workers, so that duplicate tasks run at the same time
    payload = json.dumps(paid)
    start = threading.Barrier(6)
    answers = []

    def deliver_once():
        start.wait()
        response = requests.post(
            f"{live_api}/webhooks/stripe",
            data=payload,
            headers={"Content-Type": "application/json", "Stripe-Signature": sign(payload)},
            timeout=30,
        )
        answers.append((response.status_code, response.json()["duplicate"]))

    threads = [threading.Thread(target=deliver_once) for _ in range(6)]
    for thread in threads:
        thread.start()
    for _ in range(4):
        _apply_again(paid)
    for thread in threads:
        thread.join(timeout=60)
    wait_for(lambda: _status(paid) == "applied", "a worker to apply the event")
    wait_for(lambda: _drained(settings), "the workers to finish every task")

    assert sorted(answers) == [(200, False)] + [(200, True)] * 5
    assert StripeWebhookEvent.objects.filter(stripe_event_id=paid["id"]).count() == 1
    assert _paid_audits(subscribed) == 1


@pytest.mark.parametrize("crash", ["exit", "raise"])
def test_a_task_that_breaks_after_fetching_and_before_commit_is_retried_and_applies_once(
    subscribed, paid, post_webhook, start_celery_worker, worker_env, settings, tmp_path, crash
):
    # Fault injected in-process, in the worker (tests/billing/crash_before_commit/sitecustomize.py):
    # the first apply of the event stops after its effects are written, before its transaction
    # commits, by killing the pool process (exit) or raising a database error (raise).
    marks = tmp_path / "crash-marks"
    marks.mkdir()
    start_celery_worker(
        **worker_env,
        PYTHONPATH=f"{CRASH_BEFORE_COMMIT}:{Path(settings.BASE_DIR)}",
        WEBHOOK_CRASH=crash,
        WEBHOOK_CRASH_MARKS=str(marks),
    )

    assert post_webhook(paid).status_code == 200
    wait_for(lambda: _status(paid) == "applied", "the retry to apply the event")
    wait_for(lambda: _drained(settings), "the worker to finish every task")

    assert (marks / paid["id"]).exists()  # the first attempt did break
    recorded = StripeWebhookEvent.objects.get(stripe_event_id=paid["id"])
    assert recorded.attempts == 2
    assert _paid_audits(subscribed) == 1
    assert not StripeWebhookFailure.objects.filter(stripe_event_id=paid["id"]).exists()


def test_the_ack_does_not_touch_stripe(subscribed, paid, post_webhook, start_celery_worker, worker_env, settings):
    start_celery_worker(**worker_env)  # the worker reaches Stripe ...
    settings.STRIPE_API_BASE = closed_loopback_url()  # ... the web process cannot

    response = post_webhook(paid)

    assert response.status_code == 200
    wait_for(lambda: _status(paid) == "applied", "the worker to apply the event")
    assert _paid_audits(subscribed) == 1


def test_an_event_acknowledged_while_the_broker_is_down_is_applied_by_the_sweep(
    subscribed, paid, post_webhook, start_celery_worker, worker_env, settings, broker_at, closed_port
):
    start_celery_worker(**worker_env)
    broker_at(f"redis://127.0.0.1:{closed_port}/0")  # the web process's broker is down

    response = post_webhook(paid)

    assert response.status_code == 200  # acknowledged: it is recorded
    assert _status(paid) == "received"
    broker_at(settings.REDIS_URL)  # the broker is back
    assert webhooks.sweep() == 1  # what beat runs every minute
    wait_for(lambda: _status(paid) == "applied", "the worker to apply the swept event")
    assert _paid_audits(subscribed) == 1
