"""Billing test helpers: the sandbox's keys and test cards, Stripe-signed events, and the HTTP
steps a customer takes (add a card, subscribe) against the local Stripe."""

import hashlib
import hmac
import secrets
import socket
import time

import requests
from django.db import connections
from djstripe.models import Customer, Subscription

from devtools.stripe_sandbox import on_request
from tests.helpers import API

SECRET_KEY = "sk_test_" + "centraliSandboxSecretKey0001"
PUBLISHABLE_KEY = "pk_test_" + "centraliSandboxPublicKey0001"
WEBHOOK_SECRET = "whsec_centraliSandboxWebhookSecret"

VISA = "4242424242424242"
MASTERCARD = "5555555555554444"
DECLINED = "4000000000000341"  # Stripe's test card that attaches but whose charges are declined


def add_card(client, workspace, sandbox, *, number=VISA, make_default=True):
    """Create a setup session, confirm a card on it as Stripe.js would, optionally make it the default."""
    session = client.post(f"{API}/{workspace.slug}/create-setup-session")
    assert session.status_code == 200, session.content
    intent = sandbox.confirm_card(session.json()["clientSecret"], number=number)
    payment_method_id = intent["payment_method"]
    if make_default:
        response = client.post(f"{API}/{workspace.slug}/payment-methods/{payment_method_id}/default")
        assert response.status_code == 200, response.content
    return payment_method_id


def subscribe(client, workspace, sandbox, plan="pro"):
    """A default card and a paid plan."""
    payment_method_id = add_card(client, workspace, sandbox)
    response = client.patch(f"{API}/{workspace.slug}/plan/{plan}")
    assert response.status_code == 200, response.content
    return payment_method_id


def closed_loopback_url():
    """A loopback URL nothing listens on: connecting to it is refused, a real network fault."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def sign(payload, *, secret=WEBHOOK_SECRET, timestamp=None):
    """A Stripe-Signature header as Stripe computes it: HMAC-SHA256 over "timestamp.payload"."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={signature}"


def stripe_event(event_type, obj, **extra):
    """A Stripe event of `event_type` about `obj`, shaped as Stripe sends it."""
    return {
        "id": "evt_" + secrets.token_hex(12),
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
        "data": {"object": obj, **extra},
    }


class Sandbox:
    """The sandbox as a test drives it: Stripe.js's card confirmation, reads and writes, fault injection."""

    def __init__(self, url):
        self.url = url

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


def synced_subscription(workspace, *, anchor, status="active"):
    """The dj-stripe rows of a subscription billing `workspace` in cycles from `anchor` (a datetime), as
    a webhook's sync leaves them, without the Stripe sandbox: for reads of the billing period."""
    customer, _ = Customer.objects.get_or_create(
        id=f"cus_{workspace.slug}",
        defaults={"subscriber": workspace, "livemode": False, "stripe_data": {"id": f"cus_{workspace.slug}"}},
    )
    stamp = int(anchor.timestamp())
    return Subscription.objects.create(
        id=f"sub_{workspace.slug}",
        livemode=False,
        customer=customer,
        stripe_data={"id": f"sub_{workspace.slug}", "status": status, "customer": customer.id,
                     "current_period_start": stamp, "current_period_end": stamp + 31 * 86400},
    )  # fmt: skip
