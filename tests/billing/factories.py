"""Billing test helpers that drive the local Stripe the way a customer would (over HTTP)."""

from tests.billing.conftest import VISA
from tests.helpers import API


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
