"""End to end: the API behind a live server, the local Stripe delivering its own signed webhooks to it."""

import time

import pytest
import requests
from django.db import connection
from localstripe.webhooks import _webhooks, register_webhook

from audit.models import AuditEvent
from billing.models import StripeWebhookEvent
from centrali.api.authentication import issue_access_token
from tests.billing.helpers import WEBHOOK_SECRET
from tests.factories import WorkspaceFactory

pytestmark = pytest.mark.e2e


def wait_for(condition, what, *, timeout=30, interval=0.2):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
    return value


@pytest.fixture
def stripe_delivers_to(live_server, stripe_sandbox, transactional_db):
    assert connection.vendor == "postgresql", "end-to-end tests need DATABASE_URL=postgres://... (make test-postgres)"
    register_webhook("e2e", f"{live_server.url}/workspace/api/v1/webhooks/stripe", WEBHOOK_SECRET, None)
    yield live_server.url
    _webhooks.clear()


def test_stripe_events_of_an_upgrade_reach_the_service_signed_and_are_applied(stripe_delivers_to, stripe_sandbox):
    workspace = WorkspaceFactory.create()
    api = f"{stripe_delivers_to}/workspace/api/v1/{workspace.slug}"
    auth = {"Authorization": f"Bearer {issue_access_token(workspace.owner)}"}

    secret = requests.post(f"{api}/create-setup-session", headers=auth, timeout=30).json()["clientSecret"]
    card = stripe_sandbox.confirm_card(secret)["payment_method"]
    assert requests.post(f"{api}/payment-methods/{card}/default", headers=auth, timeout=30).status_code == 200
    assert requests.patch(f"{api}/plan/pro", headers=auth, timeout=30).json()["currentPlan"] == "pro"

    wait_for(
        lambda: (
            {"payment_method.attached", "invoice.paid"}
            <= set(StripeWebhookEvent.objects.filter(workspace=workspace).values_list("type", flat=True))
        ),
        "payment_method.attached and invoice.paid from the sandbox",
    )
    audited = set(AuditEvent.objects.filter(workspace_id=workspace.pk).values_list("type", flat=True))
    assert {"payment_method.added", "invoice.paid", "plan.changed"} <= audited
