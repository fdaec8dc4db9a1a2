"""Setup sessions, the card list, the default card and card removal, against the local Stripe."""

import pytest

from audit.models import AuditEvent
from tests.billing.helpers import MASTERCARD, add_card, stripe_event, subscribe
from tests.helpers import API, assert_error, client_for
from workspaces import services as workspace_services


def test_setup_session_returns_a_client_secret_and_creates_one_customer(stripe_sandbox, workspace, owner_client):
    first = owner_client.post(f"{API}/{workspace.slug}/create-setup-session")
    second = owner_client.post(f"{API}/{workspace.slug}/create-setup-session")

    assert first.status_code == second.status_code == 200
    assert "_secret_" in first.json()["clientSecret"]
    # The SetupIntent the secret belongs to: what the sandbox's (and Stripe.js's) confirm call names.
    intent_id = first.json()["setupIntentId"]
    assert intent_id.startswith("seti_") and first.json()["clientSecret"].startswith(f"{intent_id}_secret_")
    assert stripe_sandbox.get(f"setup_intents/{intent_id}")["client_secret"] == first.json()["clientSecret"]
    customers = stripe_sandbox.get("customers")["data"]
    assert [c["metadata"]["djstripe_subscriber"] for c in customers] == [str(workspace.pk)]


def test_members_without_a_billing_role_cannot_create_a_setup_session(stripe_sandbox, workspace, member_of):
    response = member_of(workspace, "member").post(f"{API}/{workspace.slug}/create-setup-session")
    assert_error(response, status=403, code="INSUFFICIENT_ROLE")


def test_billing_role_may_manage_cards(stripe_sandbox, workspace, member_of):
    response = member_of(workspace, "billing").post(f"{API}/{workspace.slug}/create-setup-session")
    assert response.status_code == 200


def test_list_is_empty_before_any_card(stripe_sandbox, workspace, owner_client, django_assert_num_queries):
    with django_assert_num_queries(2):  # membership with its user, customer
        response = owner_client.get(f"{API}/{workspace.slug}/payment-methods")
    assert response.json() == {"data": [], "defaultPaymentMethodId": None, "stale": False}


def test_any_member_sees_the_cards_with_the_default_marked(stripe_sandbox, workspace, owner_client, member_of):
    visa = add_card(owner_client, workspace, stripe_sandbox)
    add_card(owner_client, workspace, stripe_sandbox, number=MASTERCARD, make_default=False)

    body = member_of(workspace, "member").get(f"{API}/{workspace.slug}/payment-methods").json()

    assert body["defaultPaymentMethodId"] == visa
    assert [(m["last4"], m["isDefault"]) for m in body["data"]] == [("4242", True), ("4444", False)]


def test_list_never_shows_another_workspaces_cards(stripe_sandbox, workspace, other_workspace, owner_client):
    from tests.helpers import client_for

    add_card(client_for(other_workspace.owner), other_workspace, stripe_sandbox)
    assert owner_client.get(f"{API}/{workspace.slug}/payment-methods").json()["data"] == []


def test_default_is_null_before_one_is_chosen(stripe_sandbox, workspace, owner_client):
    add_card(owner_client, workspace, stripe_sandbox, make_default=False)
    assert owner_client.get(f"{API}/{workspace.slug}/payment-methods/default").json() == {"defaultPaymentMethod": None}


def test_making_a_card_default_is_audited(stripe_sandbox, workspace, owner_client):
    visa = add_card(owner_client, workspace, stripe_sandbox)

    default = owner_client.get(f"{API}/{workspace.slug}/payment-methods/default").json()["defaultPaymentMethod"]
    assert (default["id"], default["brand"], default["last4"], default["isDefault"]) == (visa, "visa", "4242", True)
    event = AuditEvent.objects.get(workspace_id=workspace.pk, type="payment_method.default_changed")
    assert event.metadata["default_payment_method"] == {"before": None, "after": visa}


def test_another_workspaces_card_is_not_found(stripe_sandbox, workspace, other_workspace, owner_client):
    from tests.helpers import client_for

    foreign = add_card(client_for(other_workspace.owner), other_workspace, stripe_sandbox, make_default=False)
    add_card(owner_client, workspace, stripe_sandbox, make_default=False)

    assert_error(
        owner_client.post(f"{API}/{workspace.slug}/payment-methods/{foreign}/default"),
        status=404,
        code="PAYMENT_METHOD_NOT_FOUND",
    )
    assert_error(
        owner_client.delete(f"{API}/{workspace.slug}/payment-methods/{foreign}"),
        status=404,
        code="PAYMENT_METHOD_NOT_FOUND",
    )
    assert stripe_sandbox.get(f"payment_methods/{foreign}")["customer"] is not None


def test_unknown_card_id_is_not_found(stripe_sandbox, workspace, owner_client):
    add_card(owner_client, workspace, stripe_sandbox)
    for pm_id in ("pm_doesnotexist000", "not-a-card"):
        assert_error(
            owner_client.delete(f"{API}/{workspace.slug}/payment-methods/{pm_id}"),
            status=404,
            code="PAYMENT_METHOD_NOT_FOUND",
        )


def test_the_default_card_cannot_be_deleted_while_a_paid_plan_needs_it(stripe_sandbox, workspace, owner_client):
    visa = subscribe(owner_client, workspace, stripe_sandbox)

    response = owner_client.delete(f"{API}/{workspace.slug}/payment-methods/{visa}")

    body = assert_error(response, status=400, code="DEFAULT_PAYMENT_METHOD_REQUIRED")
    assert body["details"] == {"pmId": ["The default payment method is in use."]}
    assert stripe_sandbox.get(f"payment_methods/{visa}")["customer"] is not None


def test_the_default_card_cannot_be_deleted_while_overage_needs_it(stripe_sandbox, workspace, owner_client):
    visa = subscribe(owner_client, workspace, stripe_sandbox)
    owner_client.patch(f"{API}/{workspace.slug}/overage", {"overageEnabled": True}, format="json")
    owner_client.patch(f"{API}/{workspace.slug}/plan/free")  # paid plan runs until the period end

    assert_error(
        owner_client.delete(f"{API}/{workspace.slug}/payment-methods/{visa}"),
        status=400,
        code="DEFAULT_PAYMENT_METHOD_REQUIRED",
    )


def test_on_the_free_plan_the_default_card_can_go(stripe_sandbox, workspace, owner_client):
    visa = add_card(owner_client, workspace, stripe_sandbox)

    response = owner_client.delete(f"{API}/{workspace.slug}/payment-methods/{visa}")

    assert response.status_code == 200
    assert owner_client.get(f"{API}/{workspace.slug}/payment-methods").json() == {
        "data": [],
        "defaultPaymentMethodId": None,
        "stale": False,
    }
    assert (
        stripe_sandbox.get(f"customers/{workspace.djstripe_customers.get().id}")["invoice_settings"][
            "default_payment_method"
        ]
        is None
    )
    assert AuditEvent.objects.filter(workspace_id=workspace.pk, type="payment_method.removed").count() == 1


def test_public_key_is_the_publishable_key(stripe_sandbox, workspace, member_of):
    response = member_of(workspace, "member").get(f"{API}/{workspace.slug}/public-key")
    assert response.json() == {"publicKey": "pk_test_centraliSandboxPublicKey0001"}


def test_default_card_read_is_local(stripe_sandbox, workspace, owner_client, django_assert_num_queries):
    add_card(owner_client, workspace, stripe_sandbox)
    with django_assert_num_queries(2):  # membership with its user, customer with its default card
        response = owner_client.get(f"{API}/{workspace.slug}/payment-methods/default")
    assert response.json()["defaultPaymentMethod"]["last4"] == "4242"


@pytest.mark.django_db(transaction=True)
def test_the_default_card_cannot_be_removed_while_an_upgrade_is_in_flight(stripe_sandbox, workspace, owner_client):
    visa = add_card(owner_client, workspace, stripe_sandbox)
    answers = []

    def remove_the_card():
        response = client_for(workspace.owner).delete(f"{API}/{workspace.slug}/payment-methods/{visa}")
        answers.append((response.status_code, response.json()["error"]))

    stripe_sandbox.on_request("POST", "/v1/subscriptions", before=remove_the_card, times=1)

    assert owner_client.patch(f"{API}/{workspace.slug}/plan/pro").status_code == 200

    assert answers == [(409, "BILLING_CHANGE_IN_PROGRESS")]
    assert stripe_sandbox.get(f"payment_methods/{visa}")["customer"] is not None


def test_a_suspended_workspace_can_still_add_a_card_and_make_it_the_default(stripe_sandbox, workspace, owner_client):
    workspace_services.suspend_workspace(workspace=workspace, reason="invoice uncollectible")

    visa = add_card(owner_client, workspace, stripe_sandbox)  # setup session, then the default card

    assert workspace.djstripe_customers.get().default_payment_method_id == visa


# --- the first card becomes the default (issue 11, item 5)


def _stripe_default(sandbox, workspace):
    customer = workspace.djstripe_customers.get().id
    return sandbox.get(f"customers/{customer}")["invoice_settings"]["default_payment_method"]


def test_the_first_card_listed_becomes_the_default_audited_as_the_system(stripe_sandbox, workspace, owner_client):
    visa = add_card(owner_client, workspace, stripe_sandbox, make_default=False)

    body = owner_client.get(f"{API}/{workspace.slug}/payment-methods").json()

    assert body["defaultPaymentMethodId"] == visa
    assert [(m["id"], m["isDefault"]) for m in body["data"]] == [(visa, True)]
    assert _stripe_default(stripe_sandbox, workspace) == visa
    assert workspace.djstripe_customers.get().default_payment_method_id == visa
    event = AuditEvent.objects.get(workspace_id=workspace.pk, type="payment_method.default_changed")
    assert (event.actor_type, event.resource_id) == ("system", visa)
    assert event.summary == "Default payment method set to visa •••• 4242"
    assert event.metadata["default_payment_method"] == {"before": None, "after": visa}


def test_a_card_added_later_leaves_the_default_alone(stripe_sandbox, workspace, owner_client):
    visa = add_card(owner_client, workspace, stripe_sandbox, make_default=False)
    owner_client.get(f"{API}/{workspace.slug}/payment-methods")
    add_card(owner_client, workspace, stripe_sandbox, number=MASTERCARD, make_default=False)

    body = owner_client.get(f"{API}/{workspace.slug}/payment-methods").json()

    assert body["defaultPaymentMethodId"] == visa
    assert AuditEvent.objects.filter(workspace_id=workspace.pk, type="payment_method.default_changed").count() == 1


def test_cards_already_known_are_not_made_the_default_again(stripe_sandbox, workspace, owner_client):
    """A customer left without a default (its default card removed) chooses the next one itself."""
    visa = add_card(owner_client, workspace, stripe_sandbox)
    mastercard = add_card(owner_client, workspace, stripe_sandbox, number=MASTERCARD, make_default=False)
    owner_client.get(f"{API}/{workspace.slug}/payment-methods")
    owner_client.delete(f"{API}/{workspace.slug}/payment-methods/{visa}")

    body = owner_client.get(f"{API}/{workspace.slug}/payment-methods").json()

    assert (body["defaultPaymentMethodId"], [m["id"] for m in body["data"]]) == (None, [mastercard])


def test_the_first_confirmed_card_is_enough_to_upgrade(stripe_sandbox, workspace, owner_client):
    session = owner_client.post(f"{API}/{workspace.slug}/create-setup-session").json()
    stripe_sandbox.confirm_card(session["clientSecret"])
    owner_client.get(f"{API}/{workspace.slug}/payment-methods")

    response = owner_client.patch(f"{API}/{workspace.slug}/plan/pro")

    assert response.status_code == 200, response.content
    assert response.json()["currentPlan"] == "pro"


def test_the_attached_webhook_makes_the_first_card_the_default(stripe_sandbox, workspace, owner_client, deliver):
    visa = add_card(owner_client, workspace, stripe_sandbox, make_default=False)
    event = stripe_event("payment_method.attached", stripe_sandbox.get(f"payment_methods/{visa}"))

    assert deliver(event).status_code == 200
    assert deliver(event).json() == {"received": True, "duplicate": True}

    assert _stripe_default(stripe_sandbox, workspace) == visa
    assert workspace.djstripe_customers.get().default_payment_method_id == visa
    [adopted] = AuditEvent.objects.filter(workspace_id=workspace.pk, type="payment_method.default_changed")
    assert (adopted.actor_type, adopted.resource_id) == ("system", visa)
    assert owner_client.get(f"{API}/{workspace.slug}/payment-methods").json()["defaultPaymentMethodId"] == visa
    assert AuditEvent.objects.filter(workspace_id=workspace.pk, type="payment_method.default_changed").count() == 1


def test_the_attached_webhook_keeps_an_existing_default(stripe_sandbox, workspace, owner_client, deliver):
    visa = add_card(owner_client, workspace, stripe_sandbox)
    mastercard = add_card(owner_client, workspace, stripe_sandbox, number=MASTERCARD, make_default=False)

    deliver(stripe_event("payment_method.attached", stripe_sandbox.get(f"payment_methods/{mastercard}")))

    assert _stripe_default(stripe_sandbox, workspace) == visa
    assert AuditEvent.objects.filter(workspace_id=workspace.pk, type="payment_method.default_changed").count() == 1


def test_the_attached_webhook_of_a_card_detached_since_changes_no_default(
    stripe_sandbox, workspace, owner_client, deliver
):
    visa = add_card(owner_client, workspace, stripe_sandbox, make_default=False)
    attached = stripe_sandbox.get(f"payment_methods/{visa}")
    stripe_sandbox.post(f"payment_methods/{visa}/detach")

    assert deliver(stripe_event("payment_method.attached", attached)).status_code == 200

    assert _stripe_default(stripe_sandbox, workspace) is None
    assert not AuditEvent.objects.filter(workspace_id=workspace.pk, type="payment_method.default_changed").exists()
