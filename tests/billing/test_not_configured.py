"""Without Stripe keys every billing endpoint answers 503 BILLING_NOT_CONFIGURED, never a crash."""

import pytest

from tests.helpers import API, assert_error

ENDPOINTS = [
    ("get", "plan"),
    ("patch", "plan/pro"),
    ("post", "create-setup-session"),
    ("get", "payment-methods"),
    ("get", "payment-methods/default"),
    ("post", "payment-methods/pm_123/default"),
    ("delete", "payment-methods/pm_123"),
    ("get", "public-key"),
    ("get", "overage"),
    ("patch", "overage"),
    ("get", "invoices"),
    ("get", "invoice/in_123"),
]


@pytest.fixture(autouse=True)
def no_stripe_keys(settings):
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_WEBHOOK_SECRET = ""


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_billing_endpoint_answers_503_without_keys(method, path, workspace, owner_client):
    response = getattr(owner_client, method)(f"{API}/{workspace.slug}/{path}", {"overageEnabled": False}, format="json")
    assert_error(response, status=503, code="BILLING_NOT_CONFIGURED")


def test_webhook_answers_503_without_keys(api_client):
    response = api_client.post(
        f"{API}/webhooks/stripe", data="{}", content_type="application/json", HTTP_STRIPE_SIGNATURE="t=1,v1=x"
    )
    assert_error(response, status=503, code="BILLING_NOT_CONFIGURED")


def test_authentication_and_membership_are_checked_before_configuration(workspace, other_workspace):
    from tests.helpers import client_for

    stranger = client_for(other_workspace.owner)
    assert_error(stranger.get(f"{API}/{workspace.slug}/plan"), status=403, code="NOT_A_MEMBER")
