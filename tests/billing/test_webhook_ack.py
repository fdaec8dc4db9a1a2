"""POST /webhooks/stripe acknowledges an event by recording it, never waiting on Stripe or the
broker; the worker's task applies it (here eagerly, in-process) and a sweep catches what was
never queued."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client import REGISTRY

from audit.models import AuditEvent
from billing import tasks, webhooks
from billing.models import StripeWebhookEvent, StripeWebhookFailure
from centrali.celery import app as celery_app
from tests.billing.helpers import sign, stripe_event, subscribe
from tests.helpers import API


@pytest.fixture
def subscribed(stripe_sandbox, workspace, owner_client):
    subscribe(owner_client, workspace, stripe_sandbox, plan="pro")
    return workspace


@pytest.fixture
def paid(subscribed, stripe_sandbox):
    """An invoice.paid event of the subscribed workspace (not delivered yet)."""
    customer = subscribed.djstripe_customers.get().id
    return stripe_event("invoice.paid", stripe_sandbox.get("invoices", customer=customer)["data"][0])


@pytest.fixture
def post_webhook(api_client):
    """post_webhook(event) -> the answer of POST /webhooks/stripe; what it queued is not run."""

    def post(event):
        payload = json.dumps(event)
        return api_client.post(
            f"{API}/webhooks/stripe", data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(payload)
        )

    return post


def _paid_audits(workspace):
    return AuditEvent.objects.filter(workspace_id=workspace.pk, type="invoice.paid").count()


def _webhook_count(event_type, outcome):
    return (
        REGISTRY.get_sample_value("centrali_stripe_webhook_events_total", {"type": event_type, "outcome": outcome})
        or 0.0
    )


def test_the_ack_records_the_event_without_calling_stripe(paid, stripe_unreachable, post_webhook):
    response = post_webhook(paid)

    assert response.status_code == 200  # Stripe is unreachable: the endpoint never asked it anything
    assert response.json() == {"received": True, "duplicate": False}
    recorded = StripeWebhookEvent.objects.get()
    assert (recorded.stripe_event_id, recorded.status, recorded.attempts) == (paid["id"], "received", 0)
    assert recorded.payload == paid


def test_the_ack_is_one_insert_in_one_transaction(paid, post_webhook, django_assert_num_queries):
    # BEGIN, INSERT of the event, COMMIT (SAVEPOINT and RELEASE inside the test's transaction)
    with django_assert_num_queries(3):
        assert post_webhook(paid).status_code == 200


def test_the_worker_applies_what_the_ack_queued(paid, subscribed, post_webhook, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as queued:
        post_webhook(paid)

    assert len(queued) == 1
    recorded = StripeWebhookEvent.objects.get()
    assert (recorded.status, recorded.attempts, recorded.workspace_id) == ("applied", 1, subscribed.pk)
    assert _paid_audits(subscribed) == 1


def test_a_redelivery_of_an_event_waiting_for_the_worker_queues_nothing(
    paid, post_webhook, django_capture_on_commit_callbacks
):
    post_webhook(paid)  # its task is queued (not run here)

    with django_capture_on_commit_callbacks(execute=False) as queued:
        again = post_webhook(paid)

    assert again.json() == {"received": True, "duplicate": True}
    assert queued == []
    assert StripeWebhookEvent.objects.get().status == "received"


def test_a_redelivery_of_an_applied_event_queues_nothing(paid, post_webhook, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(paid)

    with django_capture_on_commit_callbacks(execute=True) as queued:
        again = post_webhook(paid)

    assert again.json() == {"received": True, "duplicate": True}
    assert queued == []


def test_a_redelivery_of_an_event_nobody_picked_up_queues_it_again(
    paid, subscribed, post_webhook, django_capture_on_commit_callbacks
):
    post_webhook(paid)
    StripeWebhookEvent.objects.update(sweep_after=timezone.now() - timedelta(seconds=1))  # overdue

    with django_capture_on_commit_callbacks(execute=True) as queued:
        post_webhook(paid)

    assert len(queued) == 1
    assert StripeWebhookEvent.objects.get().status == "applied"
    assert _paid_audits(subscribed) == 1


def test_with_the_broker_down_the_event_is_acknowledged_and_the_sweep_applies_it(
    paid, subscribed, post_webhook, broker_at, closed_port, django_capture_on_commit_callbacks
):
    broker_at(f"redis://127.0.0.1:{closed_port}/0")  # publishing is real, and nothing listens there

    with django_capture_on_commit_callbacks(execute=True):
        response = post_webhook(paid)

    assert response.status_code == 200
    recorded = StripeWebhookEvent.objects.get()
    assert (recorded.status, recorded.attempts) == ("received", 0)
    assert recorded.sweep_after is not None
    assert recorded.sweep_after <= timezone.now()  # due for the sweep at once

    celery_app.conf.task_always_eager = True  # the broker is back (eager here): the next sweep queues it
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.sweep_stripe_events() == 1

    assert StripeWebhookEvent.objects.get().status == "applied"
    assert _paid_audits(subscribed) == 1


def test_the_sweep_leaves_events_queued_recently_backing_off_or_done(
    paid, post_webhook, django_capture_on_commit_callbacks
):
    post_webhook(paid)  # queued just now: within its grace
    StripeWebhookEvent.objects.create(stripe_event_id="evt_done", type="invoice.paid", status="applied")
    StripeWebhookEvent.objects.create(
        stripe_event_id="evt_backing_off", type="invoice.paid", sweep_after=timezone.now() + timedelta(minutes=5)
    )

    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert webhooks.sweep() == 0

    assert queued == []


def test_an_event_whose_attempts_ran_out_is_kept_as_failed(paid, post_webhook, settings):
    settings.STRIPE_WEBHOOK_MAX_ATTEMPTS = 3
    post_webhook(paid)
    StripeWebhookEvent.objects.update(attempts=3)  # three attempts that never finished (workers lost)

    assert webhooks.apply_event(stripe_event_id=paid["id"]).outcome == "failed"

    assert StripeWebhookEvent.objects.get().status == "failed"
    assert StripeWebhookFailure.objects.get(stripe_event_id=paid["id"]).error == "AttemptsExhausted"


def test_outcomes_are_counted_by_event_type(paid, post_webhook, django_capture_on_commit_callbacks, api_client):
    before = {outcome: _webhook_count("invoice.paid", outcome) for outcome in ("applied", "duplicate")} | {
        "rejected": _webhook_count("other", "rejected")
    }

    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(paid)
        post_webhook(paid)
    api_client.post(f"{API}/webhooks/stripe", data="{}", content_type="application/json")

    assert _webhook_count("invoice.paid", "applied") - before["applied"] == 1
    assert _webhook_count("invoice.paid", "duplicate") - before["duplicate"] == 1
    assert _webhook_count("other", "rejected") - before["rejected"] == 1


def test_an_unhandled_event_type_is_counted_as_other(stripe_sandbox, post_webhook, django_capture_on_commit_callbacks):
    before = _webhook_count("other", "applied")

    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(stripe_event("charge.refunded", {"id": "ch_x", "object": "charge", "customer": "cus_unknown"}))

    assert _webhook_count("other", "applied") - before == 1


def test_staff_retry_a_failed_event_from_the_console(
    paid, subscribed, post_webhook, admin_client, django_capture_on_commit_callbacks
):
    post_webhook(paid)
    StripeWebhookEvent.objects.update(status="failed", attempts=12)
    StripeWebhookFailure.objects.create(
        stripe_event_id=paid["id"], type="invoice.paid", error="StripeUnavailable", last_failed_at=timezone.now()
    )
    assert "given up" in admin_client.get("/admin/billing/stripewebhookfailure/").content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/billing/stripewebhookevent/",
            {"action": "retry_failed", "_selected_action": [StripeWebhookEvent.objects.get().pk]},
        )

    assert response.status_code == 302
    assert StripeWebhookEvent.objects.get().status == "applied"
    assert not StripeWebhookFailure.objects.exists()
    assert _paid_audits(subscribed) == 1
