"""The Stripe sandbox for billing tests: localstripe (with devtools.stripe_sandbox's shims) on loopback.

One server per test session on an OS-assigned 127.0.0.1 port; every test that uses
`stripe_sandbox` starts from an empty Stripe with the paid plans synced into it.
"""

import json

import pytest

from billing import services
from billing.models import Plan
from devtools.stripe_sandbox import SandboxServer, reset
from tests.billing.helpers import PUBLISHABLE_KEY, SECRET_KEY, WEBHOOK_SECRET, Sandbox, closed_loopback_url, sign


@pytest.fixture(scope="session")
def stripe_server():
    server = SandboxServer(port=0).start()
    yield server
    server.stop()


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
    return Sandbox(stripe_server.url)


@pytest.fixture
def stripe_unreachable(stripe_sandbox, settings):
    """Stripe configured but down: STRIPE_API_BASE points at a closed loopback port."""
    settings.STRIPE_API_BASE = closed_loopback_url()


@pytest.fixture
def deliver(api_client, django_capture_on_commit_callbacks):
    """deliver(event) -> the response of POST /webhooks/stripe with a valid signature, once the
    worker's task it queued on commit has run (eagerly, in-process, like every task of `make test`)."""

    def post(event, *, signature=None, payload=None):
        payload = payload if payload is not None else json.dumps(event)
        with django_capture_on_commit_callbacks(execute=True):
            return api_client.post(
                "/workspace/api/v1/webhooks/stripe",
                data=payload,
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=signature if signature is not None else sign(payload),
            )

    return post
