"""Stripe down (a closed loopback port, a real connection failure): 503 in the Error shape, nothing changed."""

import pytest

from audit.models import AuditEvent
from billing.models import OverageSettings
from tests.billing.helpers import add_card, subscribe
from tests.helpers import API, assert_error


@pytest.fixture
def subscribed(stripe_sandbox, workspace, owner_client):
    return subscribe(owner_client, workspace, stripe_sandbox, plan="starter")


def _audit_count(workspace):
    return AuditEvent.objects.filter(workspace_id=workspace.pk).count()


def test_setup_session_fails_cleanly(stripe_unreachable, workspace, owner_client):
    response = owner_client.post(f"{API}/{workspace.slug}/create-setup-session")

    assert_error(response, status=503, code="STRIPE_UNAVAILABLE")
    assert not workspace.djstripe_customers.exists()


def test_plan_change_fails_cleanly(subscribed, workspace, owner_client, stripe_unreachable):
    before = _audit_count(workspace)

    assert_error(owner_client.patch(f"{API}/{workspace.slug}/plan/pro"), status=503, code="STRIPE_UNAVAILABLE")

    workspace.refresh_from_db()
    assert workspace.plan.code == "starter"
    assert _audit_count(workspace) == before


def test_setting_the_default_card_fails_cleanly(subscribed, workspace, owner_client, stripe_unreachable):
    before = _audit_count(workspace)

    response = owner_client.post(f"{API}/{workspace.slug}/payment-methods/{subscribed}/default")

    assert_error(response, status=503, code="STRIPE_UNAVAILABLE")
    assert _audit_count(workspace) == before


def test_deleting_a_card_fails_cleanly(subscribed, stripe_sandbox, workspace, owner_client, stripe_unreachable):
    before = _audit_count(workspace)

    response = owner_client.delete(f"{API}/{workspace.slug}/payment-methods/{subscribed}")

    assert_error(response, status=503, code="STRIPE_UNAVAILABLE")
    assert stripe_sandbox.get(f"payment_methods/{subscribed}")["customer"] is not None
    assert _audit_count(workspace) == before


def test_card_list_falls_back_to_the_synced_copy_marked_stale(subscribed, workspace, owner_client, stripe_unreachable):
    response = owner_client.get(f"{API}/{workspace.slug}/payment-methods")

    assert response.status_code == 200
    body = response.json()
    assert body["stale"] is True
    assert [(m["id"], m["isDefault"]) for m in body["data"]] == [(subscribed, True)]


def test_local_reads_keep_working(subscribed, workspace, owner_client, stripe_unreachable):
    assert owner_client.get(f"{API}/{workspace.slug}/plan").json()["currentPlan"] == "starter"
    assert len(owner_client.get(f"{API}/{workspace.slug}/invoices").json()) == 1
    assert owner_client.get(f"{API}/{workspace.slug}/overage").json()["hasDefaultPaymentMethod"] is True
    assert not OverageSettings.objects.filter(workspace=workspace).exists()


def test_a_timeout_says_the_change_may_have_been_applied(stripe_sandbox, workspace, owner_client, settings):
    add_card(owner_client, workspace, stripe_sandbox)
    settings.STRIPE_TIMEOUT_SECONDS = 1
    # Stripe creates the subscription, then answers after the client gave up waiting.
    stripe_sandbox.on_request("POST", "/v1/subscriptions", delay=3, times=1)

    body = assert_error(owner_client.patch(f"{API}/{workspace.slug}/plan/pro"), status=503, code="STRIPE_UNAVAILABLE")

    assert "nothing was changed" not in body["message"]
    assert "may have been applied" in body["message"]
