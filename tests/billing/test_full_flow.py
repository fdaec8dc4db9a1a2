"""The whole billing journey of a workspace, over HTTP, against the local Stripe (issue 4, item 9)."""

from django.utils import timezone

from audit.models import AuditEvent
from tests.billing.helpers import MASTERCARD, VISA
from tests.helpers import API
from usage.services import ingest_events


def test_setup_card_upgrade_invoice_overage_refused_downgrade_and_card_removal(stripe_sandbox, workspace, owner_client):
    base = f"{API}/{workspace.slug}"

    session = owner_client.post(f"{base}/create-setup-session")
    assert session.status_code == 200, session.content
    stripe_sandbox.confirm_card(session.json()["clientSecret"], number=VISA)

    listed = owner_client.get(f"{base}/payment-methods")
    assert listed.status_code == 200, listed.content
    body = listed.json()
    assert body["stale"] is False
    assert [(m["brand"], m["last4"], m["expMonth"], m["expYear"], m["isDefault"]) for m in body["data"]] == [
        ("visa", "4242", 12, 2034, True)  # the first card of a customer without a default becomes it
    ]
    visa_id = body["data"][0]["id"]

    made_default = owner_client.post(f"{base}/payment-methods/{visa_id}/default")
    assert made_default.status_code == 200, made_default.content
    assert made_default.json() == "Default payment method updated."
    assert owner_client.get(f"{base}/payment-methods/default").json()["defaultPaymentMethod"]["id"] == visa_id

    upgraded = owner_client.patch(f"{base}/plan/pro")
    assert upgraded.status_code == 200, upgraded.content
    assert upgraded.json()["previousPlan"] == "free"
    assert upgraded.json()["currentPlan"] == "pro"
    assert upgraded.json()["subscription"]["status"] == "active"
    plan = owner_client.get(f"{base}/plan").json()
    assert plan["currentPlan"] == "pro"
    assert plan["quota"] == {"storageMB": 204_800, "computeExecutions": 2_000_000, "smartQueries": 25_000}

    invoices = owner_client.get(f"{base}/invoices")
    assert invoices.status_code == 200, invoices.content
    assert invoices["X-Total-Count"] == "1"
    [invoice] = invoices.json()
    assert (invoice["amount"], invoice["currency"], invoice["status"]) == (99.0, "USD", "paid")
    assert invoice["workspace_id"] == str(workspace.pk)
    assert invoice["pdf_url"].startswith("https://")
    fetched = owner_client.get(f"{base}/invoice/{invoice['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == invoice

    overage = owner_client.patch(
        f"{base}/overage", {"overageEnabled": True, "overageSpendingCapCents": 5_000}, format="json"
    )
    assert overage.status_code == 200, overage.content
    assert overage.json()["overageEnabled"] is True
    assert overage.json()["overageSpendingCapCents"] == 5_000
    assert overage.json()["overageEnabledAt"].endswith("Z")

    ingest_events(
        events=[
            {
                "id": "records-1",
                "workspace": workspace.slug,
                "metric": "records",
                "value": 400_000,
                "timestamp": timezone.now().isoformat(),
            }
        ]
    )
    refused = owner_client.patch(f"{base}/plan/starter")
    assert refused.status_code == 400, refused.content
    assert refused.json()["error"] == "PLAN_LIMITS_EXCEEDED"
    assert "records" in refused.json()["message"]
    assert owner_client.get(f"{base}/plan").json()["currentPlan"] == "pro"

    second = owner_client.post(f"{base}/create-setup-session")
    stripe_sandbox.confirm_card(second.json()["clientSecret"], number=MASTERCARD)
    cards = owner_client.get(f"{base}/payment-methods").json()["data"]
    mastercard_id = next(card["id"] for card in cards if card["last4"] == "4444")
    assert owner_client.post(f"{base}/payment-methods/{mastercard_id}/default").status_code == 200

    deleted = owner_client.delete(f"{base}/payment-methods/{visa_id}")
    assert deleted.status_code == 200, deleted.content
    assert deleted.json() == "Payment method deleted."
    remaining = owner_client.get(f"{base}/payment-methods").json()["data"]
    assert [(card["last4"], card["isDefault"]) for card in remaining] == [("4444", True)]

    assert list(
        AuditEvent.objects.filter(
            workspace_id=workspace.pk,
            type__in=[
                "payment_method.default_changed",
                "plan.changed",
                "overage.changed",
                "payment_method.removed",
            ],
        )
        .order_by("id")
        .values_list("type", flat=True)
    ) == [
        "payment_method.default_changed",  # the first card, made the default on sight
        "payment_method.default_changed",  # the owner choosing it explicitly
        "plan.changed",
        "overage.changed",
        "payment_method.default_changed",
        "payment_method.removed",
    ]
