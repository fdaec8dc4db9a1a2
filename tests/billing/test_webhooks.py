"""POST /webhooks/stripe: signed as Stripe signs, applied once, all or nothing (the worker's task runs eagerly)."""

import json
import threading
import time

import pytest
import requests
from django.db import connection

from audit.models import AuditEvent
from billing import webhooks
from billing.models import Plan, StripeWebhookEvent, StripeWebhookFailure
from centrali.context import ActorType, acting
from tests.billing.helpers import SECRET_KEY, add_card, closed_loopback_url, sign, stripe_event, subscribe
from tests.helpers import API, assert_error, client_for
from workspaces import services as workspace_services


def _customer_id(workspace):
    return workspace.djstripe_customers.get().id


def _invoice(sandbox, workspace):
    return sandbox.get("invoices", customer=_customer_id(workspace))["data"][0]


def _audit_types(workspace, *types):
    return list(
        AuditEvent.objects.filter(workspace_id=workspace.pk, type__in=types)
        .order_by("id")
        .values_list("type", flat=True)
    )


@pytest.fixture
def subscribed(stripe_sandbox, workspace, owner_client):
    subscribe(owner_client, workspace, stripe_sandbox, plan="pro")
    workspace.refresh_from_db()
    return workspace


# --- signature


def test_missing_signature_is_refused(stripe_sandbox, api_client):
    response = api_client.post(f"{API}/webhooks/stripe", data="{}", content_type="application/json")
    body = assert_error(response, status=400, code="INVALID_SIGNATURE")
    assert "Stripe-Signature" in body["details"]


def test_signature_with_another_secret_is_refused(stripe_sandbox, deliver):
    event = stripe_event("invoice.paid", {"id": "in_x", "object": "invoice"})
    payload = json.dumps(event)
    assert_error(deliver(event, signature=sign(payload, secret="whsec_other")), status=400, code="INVALID_SIGNATURE")


def test_tampered_body_is_refused(stripe_sandbox, deliver):
    event = stripe_event("invoice.paid", {"id": "in_x", "object": "invoice"})
    signature = sign(json.dumps(event))
    event["data"]["object"]["id"] = "in_y"
    assert_error(deliver(event, signature=signature), status=400, code="INVALID_SIGNATURE")


def test_a_signature_older_than_the_tolerance_is_refused(stripe_sandbox, deliver):
    event = stripe_event("invoice.paid", {"id": "in_x", "object": "invoice"})
    payload = json.dumps(event)
    stale = sign(payload, timestamp=int(time.time()) - 301)
    assert_error(deliver(event, payload=payload, signature=stale), status=400, code="INVALID_SIGNATURE")
    assert not StripeWebhookEvent.objects.exists()


@pytest.mark.parametrize(
    "payload",
    [
        '["not", "an", "event"]',
        '{"id": "evt_1", "type": "invoice.paid", "data": {"object": []}}',
        "not json",
        json.dumps({"id": "evt_" + "x" * 300, "type": "invoice.paid", "data": {"object": {}}}),
        '{"id": "evt_\\ud800", "type": "invoice.paid", "data": {"object": {}}}',
        "[" * 5000 + "]" * 5000,
    ],
)
def test_a_signed_body_that_is_not_an_event_is_refused(stripe_sandbox, deliver, payload):
    assert_error(deliver(None, payload=payload), status=400, code="MALFORMED_REQUEST")
    assert not StripeWebhookEvent.objects.exists()


# --- effects


def test_invoice_paid_is_recorded_once_and_audited(subscribed, stripe_sandbox, deliver):
    event = stripe_event("invoice.paid", _invoice(stripe_sandbox, subscribed))

    response = deliver(event)

    assert response.status_code == 200, response.content
    assert response.json() == {"received": True, "duplicate": False}
    recorded = StripeWebhookEvent.objects.get()
    assert (recorded.stripe_event_id, recorded.workspace_id) == (event["id"], subscribed.pk)
    assert _audit_types(subscribed, "invoice.paid") == ["invoice.paid"]


def test_a_redelivered_event_changes_nothing(subscribed, stripe_sandbox, deliver):
    event = stripe_event("invoice.paid", _invoice(stripe_sandbox, subscribed))
    deliver(event)
    audit_count = AuditEvent.objects.filter(workspace_id=subscribed.pk).count()

    again = deliver(event)

    assert again.status_code == 200
    assert again.json() == {"received": True, "duplicate": True}
    assert StripeWebhookEvent.objects.count() == 1
    assert AuditEvent.objects.filter(workspace_id=subscribed.pk).count() == audit_count


def test_an_uncollectible_invoice_suspends_and_its_payment_reactivates(subscribed, stripe_sandbox, deliver):
    invoice = _invoice(stripe_sandbox, subscribed)

    assert (
        deliver(stripe_event("invoice.marked_uncollectible", {**invoice, "status": "uncollectible"})).status_code == 200
    )
    subscribed.refresh_from_db()
    assert subscribed.status == "suspended"
    suspension = AuditEvent.objects.get(workspace_id=subscribed.pk, type="workspace.suspended")
    assert suspension.actor_type == "system"

    assert deliver(stripe_event("invoice.paid", invoice)).status_code == 200
    subscribed.refresh_from_db()
    assert subscribed.status == "active"
    assert _audit_types(subscribed, "invoice.uncollectible", "invoice.paid") == [
        "invoice.uncollectible",
        "invoice.paid",
    ]


def test_a_paid_invoice_does_not_lift_a_suspension_staff_imposed(subscribed, stripe_sandbox, deliver):
    workspace_services.suspend_workspace(workspace=subscribed, reason="abuse")

    deliver(stripe_event("invoice.paid", _invoice(stripe_sandbox, subscribed)))

    subscribed.refresh_from_db()
    assert subscribed.status == "suspended"


def test_paying_an_uncollectible_invoice_does_not_lift_a_suspension_staff_imposed_before(
    subscribed, stripe_sandbox, deliver
):
    invoice = _invoice(stripe_sandbox, subscribed)
    workspace_services.suspend_workspace(workspace=subscribed, reason="abuse")
    deliver(stripe_event("invoice.marked_uncollectible", {**invoice, "status": "uncollectible"}))

    deliver(stripe_event("invoice.paid", invoice))

    subscribed.refresh_from_db()
    assert subscribed.status == "suspended"


def test_payment_failure_is_audited(subscribed, stripe_sandbox, deliver):
    invoice = {**_invoice(stripe_sandbox, subscribed), "attempt_count": 2}
    deliver(stripe_event("invoice.payment_failed", invoice))
    assert (
        AuditEvent.objects.get(workspace_id=subscribed.pk, type="invoice.payment_failed").metadata["attempt_count"] == 2
    )


def test_subscription_deleted_moves_the_workspace_to_the_free_plan(subscribed, stripe_sandbox, deliver):
    [subscription] = stripe_sandbox.get("subscriptions", customer=_customer_id(subscribed))["data"]
    requests.delete(f"{stripe_sandbox.url}/v1/subscriptions/{subscription['id']}", auth=(SECRET_KEY, ""), timeout=10)
    ended = stripe_sandbox.get(f"subscriptions/{subscription['id']}")

    assert deliver(stripe_event("customer.subscription.deleted", ended)).status_code == 200

    subscribed.refresh_from_db()
    assert subscribed.plan.code == "free"
    change = AuditEvent.objects.filter(workspace_id=subscribed.pk, type="plan.changed").latest("id")
    assert (change.metadata["plan"], change.actor_type) == ({"before": "pro", "after": "free"}, "system")
    assert _audit_types(subscribed, "subscription.deleted") == ["subscription.deleted"]


def test_subscription_updated_in_stripe_syncs_the_plan(subscribed, stripe_sandbox, deliver):
    [subscription] = stripe_sandbox.get("subscriptions", customer=_customer_id(subscribed))["data"]
    starter_price = Plan.objects.get(code="starter").stripe_price_monthly_id
    updated = stripe_sandbox.post(
        f"subscriptions/{subscription['id']}",
        **{"items[0][id]": subscription["items"]["data"][0]["id"], "items[0][price]": starter_price},
    )

    deliver(stripe_event("customer.subscription.updated", updated))

    subscribed.refresh_from_db()
    assert subscribed.plan.code == "starter"
    assert client_for(subscribed.owner).get(f"{API}/{subscribed.slug}/plan").json()["currentPlan"] == "starter"


def test_a_card_attached_in_the_browser_is_audited_and_listed(stripe_sandbox, workspace, owner_client, deliver):
    visa = add_card(owner_client, workspace, stripe_sandbox, make_default=False)

    deliver(stripe_event("payment_method.attached", stripe_sandbox.get(f"payment_methods/{visa}")))

    assert _audit_types(workspace, "payment_method.added") == ["payment_method.added"]
    assert workspace.djstripe_customers.get().payment_methods.filter(id=visa).exists()


def test_a_card_detached_outside_the_service_is_audited_and_unlisted(stripe_sandbox, workspace, owner_client, deliver):
    visa = add_card(owner_client, workspace, stripe_sandbox, make_default=False)
    owner_client.get(f"{API}/{workspace.slug}/payment-methods")  # synced locally
    detached = stripe_sandbox.post(f"payment_methods/{visa}/detach")

    deliver(stripe_event("payment_method.detached", detached, previous_attributes={"customer": detached["customer"]}))

    assert _audit_types(workspace, "payment_method.removed") == ["payment_method.removed"]
    assert not workspace.djstripe_customers.get().payment_methods.exists()


def test_a_card_detached_outside_the_service_and_seen_first_by_the_card_list_is_audited_once(
    stripe_sandbox, workspace, owner_client, deliver
):
    visa = add_card(owner_client, workspace, stripe_sandbox, make_default=False)
    owner_client.get(f"{API}/{workspace.slug}/payment-methods")  # synced locally
    detached = stripe_sandbox.post(f"payment_methods/{visa}/detach")
    owner_client.get(f"{API}/{workspace.slug}/payment-methods")  # the list no longer has it

    deliver(stripe_event("payment_method.detached", detached, previous_attributes={"customer": detached["customer"]}))

    assert _audit_types(workspace, "payment_method.removed") == ["payment_method.removed"]


def test_an_event_about_an_unknown_customer_is_acknowledged(stripe_sandbox, deliver):
    response = deliver(
        stripe_event(
            "customer.subscription.updated",
            {"id": "sub_x", "object": "subscription", "customer": "cus_unknown", "status": "active"},
        )
    )
    assert response.status_code == 200
    assert StripeWebhookEvent.objects.get().workspace_id is None


def test_an_event_that_fails_midway_applies_nothing_and_is_retried_until_it_gives_up(
    subscribed, stripe_sandbox, deliver, settings
):
    settings.STRIPE_WEBHOOK_MAX_ATTEMPTS = 3  # eager retries run at once, one after the other
    invoice = _invoice(stripe_sandbox, subscribed)
    deliver(stripe_event("invoice.marked_uncollectible", {**invoice, "status": "uncollectible"}))
    paid = stripe_event("invoice.paid", invoice)
    settings.STRIPE_API_BASE = closed_loopback_url()  # dj-stripe re-fetches the invoice: Stripe is now unreachable

    acknowledged = deliver(paid)

    assert acknowledged.json() == {"received": True, "duplicate": False}  # recorded: Stripe stops sending it
    recorded = StripeWebhookEvent.objects.get(stripe_event_id=paid["id"])
    assert (recorded.status, recorded.attempts) == ("failed", 3)
    subscribed.refresh_from_db()
    assert subscribed.status == "suspended"
    assert _audit_types(subscribed, "invoice.paid") == []


def test_a_failed_event_is_kept_for_staff_until_a_redelivery_applies_it(subscribed, stripe_sandbox, deliver, settings):
    settings.STRIPE_WEBHOOK_MAX_ATTEMPTS = 2
    paid = stripe_event("invoice.paid", _invoice(stripe_sandbox, subscribed))
    sandbox_url = settings.STRIPE_API_BASE
    settings.STRIPE_API_BASE = closed_loopback_url()

    deliver(paid)

    failure = StripeWebhookFailure.objects.get(stripe_event_id=paid["id"])
    assert (failure.type, failure.attempts) == ("invoice.paid", 2)
    assert failure.error == "StripeUnavailable: STRIPE_UNAVAILABLE"

    settings.STRIPE_API_BASE = sandbox_url
    again = deliver(paid)  # resent from Stripe's dashboard: a new round of attempts

    assert again.json() == {"received": True, "duplicate": True}
    assert StripeWebhookEvent.objects.get(stripe_event_id=paid["id"]).status == "applied"
    assert not StripeWebhookFailure.objects.filter(stripe_event_id=paid["id"]).exists()
    assert _audit_types(subscribed, "invoice.paid") == ["invoice.paid"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_deliveries_apply_once(stripe_sandbox, workspace, owner_client):
    assert connection.vendor == "postgresql", "this test needs DATABASE_URL=postgres://..."
    subscribe(owner_client, workspace, stripe_sandbox, plan="pro")
    event = stripe_event("invoice.paid", _invoice(stripe_sandbox, workspace))
    payload = json.dumps(event)
    start = threading.Barrier(4)
    answers = []

    def deliver_once():
        from rest_framework.test import APIClient

        start.wait()
        try:
            response = APIClient().post(
                f"{API}/webhooks/stripe",
                data=payload,
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=sign(payload),
            )
            answers.append((response.status_code, response.json().get("duplicate")))
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver_once) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(answers) == [(200, False), (200, True), (200, True), (200, True)]
    assert StripeWebhookEvent.objects.filter(stripe_event_id=event["id"]).count() == 1
    assert _audit_types(workspace, "invoice.paid") == ["invoice.paid"]


def test_a_late_subscription_event_cannot_undo_a_newer_plan(subscribed, stripe_sandbox, deliver, owner_client):
    [subscription] = stripe_sandbox.get("subscriptions", customer=_customer_id(subscribed))["data"]
    stale_snapshot = {**subscription}  # Stripe's view while the workspace was on pro
    assert owner_client.patch(f"{API}/{subscribed.slug}/plan/enterprise").status_code == 200

    deliver(stripe_event("customer.subscription.updated", stale_snapshot))

    subscribed.refresh_from_db()
    assert subscribed.plan.code == "enterprise"


def test_a_subscription_created_outside_the_service_sets_the_plan(stripe_sandbox, workspace, owner_client, deliver):
    add_card(owner_client, workspace, stripe_sandbox)
    starter_price = Plan.objects.get(code="starter").stripe_price_monthly_id
    created = stripe_sandbox.post(
        "subscriptions", customer=_customer_id(workspace), **{"items[0][price]": starter_price}
    )

    deliver(stripe_event("customer.subscription.created", created))

    workspace.refresh_from_db()
    assert workspace.plan.code == "starter"
    assert AuditEvent.objects.filter(workspace_id=workspace.pk, type="plan.changed").get().actor_type == "system"


def test_an_event_is_audited_as_the_system_whoever_else_is_acting(subscribed, stripe_sandbox):
    event = stripe_event("invoice.paid", _invoice(stripe_sandbox, subscribed))
    webhooks.receive(event)

    with acting(actor=subscribed.owner, actor_type=ActorType.USER):
        assert webhooks.apply_event(stripe_event_id=event["id"]).outcome == "applied"

    paid = AuditEvent.objects.filter(workspace_id=subscribed.pk, type="invoice.paid").latest("id")
    assert (paid.actor_type, paid.actor_id, paid.metadata["stripe_event_id"]) == ("system", "", event["id"])
