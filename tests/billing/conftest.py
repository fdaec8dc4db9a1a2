"""The Stripe sandbox for billing tests: localstripe (with devtools.stripe_sandbox's shims) on loopback.

One server per test session on an OS-assigned 127.0.0.1 port; every test that uses
`stripe_sandbox` starts from an empty Stripe with the paid plans synced into it.
"""

import json

import pytest
import requests
from django.db import connections

from billing import services
from billing.models import Plan
from devtools.stripe_sandbox import SandboxServer, on_request, reset
from tests.billing.helpers import PUBLISHABLE_KEY, SECRET_KEY, VISA, WEBHOOK_SECRET, closed_loopback_url, sign


@pytest.fixture(scope="session")
def stripe_server():
    server = SandboxServer(port=0).start()
    yield server
    server.stop()


class Sandbox:
    def __init__(self, server):
        self.server = server
        self.url = server.url

    def confirm_card(self, client_secret, number=VISA, exp_month=12, exp_year=2034):
        """What Stripe.js does in the browser: confirm the SetupIntent with card details and the publishable key."""
        intent_id = client_secret.split("_secret_")[0]
        response = requests.post(
            f"{self.url}/v1/setup_intents/{intent_id}/confirm",
            data={
                "key": PUBLISHABLE_KEY,
                "client_secret": client_secret,
                "payment_method_data[type]": "card",
                "payment_method_data[card][number]": number,
                "payment_method_data[card][exp_month]": str(exp_month),
                "payment_method_data[card][exp_year]": str(exp_year),
                "payment_method_data[card][cvc]": "123",
            },
            timeout=10,
        )
        response.raise_for_status()
        return response.json()

    def get(self, path, **params):
        response = requests.get(f"{self.url}/v1/{path}", params=params, auth=(SECRET_KEY, ""), timeout=10)
        response.raise_for_status()
        return response.json()

    def post(self, path, **data):
        response = requests.post(f"{self.url}/v1/{path}", data=data, auth=(SECRET_KEY, ""), timeout=10)
        response.raise_for_status()
        return response.json()

    def on_request(self, method, path, *, before=None, **behaviour):
        """Make the sandbox act on matching requests (see devtools.stripe_sandbox.on_request).

        `before` runs in another thread while the service waits for Stripe; its database
        connection is closed afterwards.
        """

        def run_before():
            try:
                before()
            finally:
                connections.close_all()

        return on_request(method, path, before=run_before if before else None, **behaviour)


@pytest.fixture
def stripe_sandbox(stripe_server, settings):
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_TEST_SECRET_KEY = SECRET_KEY
    settings.STRIPE_PUBLISHABLE_KEY = PUBLISHABLE_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = stripe_server.url
    reset()
    for plan in Plan.objects.all():
        if plan.is_paid:
            services.sync_plan_to_stripe(plan=plan)
    return Sandbox(stripe_server)


@pytest.fixture
def stripe_unreachable(stripe_sandbox, settings):
    """Stripe configured but down: STRIPE_API_BASE points at a closed loopback port."""
    settings.STRIPE_API_BASE = closed_loopback_url()


@pytest.fixture
def deliver(api_client):
    """deliver(event) -> the response of POST /webhooks/stripe with a valid signature."""

    def post(event, *, signature=None, payload=None):
        payload = payload if payload is not None else json.dumps(event)
        return api_client.post(
            "/workspace/api/v1/webhooks/stripe",
            data=payload,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=signature if signature is not None else sign(payload),
        )

    return post
