"""GET/PATCH /{slug}/overage."""

import pytest

from audit.models import AuditEvent
from tests.billing.helpers import add_card, subscribe
from tests.helpers import API, assert_error


def test_overage_starts_off_with_the_plans_rates(stripe_sandbox, workspace, owner_client, django_assert_num_queries):
    subscribe(owner_client, workspace, stripe_sandbox, plan="pro")

    with django_assert_num_queries(3):  # membership+user+workspace+plan, overage settings, customer
        response = owner_client.get(f"{API}/{workspace.slug}/overage")

    assert response.json() == {
        "overageEnabled": False,
        "overageSpendingCapCents": None,
        "overageEnabledAt": None,
        "hasDefaultPaymentMethod": True,
        "overageRates": {
            "executions": 0.000015,
            "cpuSeconds": 0.00004,
            "memoryGbSeconds": 0.000014,
            "storagePerGb": 0.2,
            "blobStoragePerGb": 0.04,
        },
    }


def test_the_free_plan_has_no_overage_rates(stripe_sandbox, workspace, member_of):
    body = member_of(workspace, "member").get(f"{API}/{workspace.slug}/overage").json()
    assert (body["overageRates"], body["hasDefaultPaymentMethod"]) == (None, False)


def test_enabling_records_when_and_the_cap(stripe_sandbox, workspace, owner_client):
    subscribe(owner_client, workspace, stripe_sandbox, plan="pro")

    response = owner_client.patch(
        f"{API}/{workspace.slug}/overage", {"overageEnabled": True, "overageSpendingCapCents": 2_500}, format="json"
    )

    body = response.json()
    assert (body["overageEnabled"], body["overageSpendingCapCents"]) == (True, 2_500)
    assert body["overageEnabledAt"].endswith("Z")
    event = AuditEvent.objects.get(workspace_id=workspace.pk, type="overage.changed")
    assert event.metadata == {
        "enabled": {"before": False, "after": True},
        "spending_cap_cents": {"before": None, "after": 2_500},
    }


def test_enabling_needs_a_default_payment_method(stripe_sandbox, workspace, owner_client):
    subscribe(owner_client, workspace, stripe_sandbox, plan="pro")
    customer = workspace.djstripe_customers.get()
    customer.default_payment_method = None
    customer.save()

    body = assert_error(
        owner_client.patch(f"{API}/{workspace.slug}/overage", {"overageEnabled": True}, format="json"),
        status=400,
        code="PAYMENT_METHOD_REQUIRED",
    )
    assert body["details"] == {"overageEnabled": ["No default payment method."]}


def test_a_plan_without_overage_rates_cannot_enable_it(stripe_sandbox, workspace, owner_client):
    add_card(owner_client, workspace, stripe_sandbox)
    assert_error(
        owner_client.patch(f"{API}/{workspace.slug}/overage", {"overageEnabled": True}, format="json"),
        status=400,
        code="OVERAGE_NOT_OFFERED",
    )


@pytest.mark.parametrize("cap", [-1, "100", 1.5, True, {"x": 1}])
def test_the_cap_is_null_or_a_non_negative_integer(stripe_sandbox, workspace, owner_client, cap):
    response = owner_client.patch(
        f"{API}/{workspace.slug}/overage", {"overageEnabled": False, "overageSpendingCapCents": cap}, format="json"
    )
    body = assert_error(response, status=400, code="VALIDATION_ERROR")
    assert list(body["details"]) == ["overageSpendingCapCents"]


@pytest.mark.parametrize("body", [{}, {"overageEnabled": "yes"}, {"overageEnabled": None}])
def test_overage_enabled_is_a_required_boolean(stripe_sandbox, workspace, owner_client, body):
    response = owner_client.patch(f"{API}/{workspace.slug}/overage", body, format="json")
    assert list(assert_error(response, status=400, code="VALIDATION_ERROR")["details"]) == ["overageEnabled"]


def test_disabling_clears_the_timestamp_and_a_null_cap_removes_it(stripe_sandbox, workspace, owner_client):
    subscribe(owner_client, workspace, stripe_sandbox, plan="pro")
    url = f"{API}/{workspace.slug}/overage"
    owner_client.patch(url, {"overageEnabled": True, "overageSpendingCapCents": 100}, format="json")

    body = owner_client.patch(url, {"overageEnabled": False, "overageSpendingCapCents": None}, format="json").json()

    assert body == {"overageEnabled": False, "overageSpendingCapCents": None, "overageEnabledAt": None}


def test_omitting_the_cap_keeps_it(stripe_sandbox, workspace, owner_client):
    subscribe(owner_client, workspace, stripe_sandbox, plan="pro")
    url = f"{API}/{workspace.slug}/overage"
    owner_client.patch(url, {"overageEnabled": True, "overageSpendingCapCents": 100}, format="json")

    assert owner_client.patch(url, {"overageEnabled": False}, format="json").json()["overageSpendingCapCents"] == 100


def test_members_cannot_change_overage(stripe_sandbox, workspace, member_of):
    response = member_of(workspace, "member").patch(
        f"{API}/{workspace.slug}/overage", {"overageEnabled": False}, format="json"
    )
    assert_error(response, status=403, code="INSUFFICIENT_ROLE")


@pytest.mark.parametrize("cap", [2**63, 10**30])
def test_a_cap_beyond_what_can_be_stored_is_refused(stripe_sandbox, workspace, owner_client, cap):
    subscribe(owner_client, workspace, stripe_sandbox, plan="pro")

    response = owner_client.patch(
        f"{API}/{workspace.slug}/overage", {"overageEnabled": True, "overageSpendingCapCents": cap}, format="json"
    )

    body = assert_error(response, status=400, code="VALIDATION_ERROR")
    assert list(body["details"]) == ["overageSpendingCapCents"]
