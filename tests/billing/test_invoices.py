"""GET /{slug}/invoices and /{slug}/invoice/{invoiceId}: dj-stripe's synced invoices in the def-3 shape."""

import pytest

from billing.services import reconcile_workspace
from tests.billing.helpers import subscribe
from tests.helpers import API, assert_error, client_for


@pytest.fixture
def three_invoices(stripe_sandbox, workspace, owner_client):
    """Paid invoices of 29, then 99 and 499 USD (the starter subscription plus extra invoice items),
    synced by reconciliation."""
    subscribe(owner_client, workspace, stripe_sandbox, plan="starter")
    customer = workspace.djstripe_customers.get().id
    [subscription] = stripe_sandbox.get("subscriptions", customer=customer)["data"]
    for extra_cents in (7000, 47000):
        stripe_sandbox.post("invoiceitems", customer=customer, amount=extra_cents, currency="usd", description="Extra")
        invoice = stripe_sandbox.post("invoices", customer=customer, subscription=subscription["id"])
        stripe_sandbox.post(f"invoices/{invoice['id']}/pay")
    reconcile_workspace(workspace=workspace)
    return workspace


def test_invoices_are_a_bare_array_paged_in_headers(three_invoices, workspace, member_of):
    client = member_of(workspace, "member")

    first_page = client.get(f"{API}/{workspace.slug}/invoices", {"limit": 2})
    second_page = client.get(f"{API}/{workspace.slug}/invoices", {"limit": 2, "page": 2})

    assert first_page["X-Total-Count"] == second_page["X-Total-Count"] == "3"
    assert 'rel="next"' in first_page["Link"] and 'rel="next"' not in second_page["Link"]
    amounts = [invoice["amount"] for invoice in first_page.json() + second_page.json()]
    assert (len(first_page.json()), sorted(amounts)) == (2, [29.0, 99.0, 499.0])


def test_invoice_has_the_def3_shape(stripe_sandbox, workspace, owner_client):
    subscribe(owner_client, workspace, stripe_sandbox, plan="starter")

    [invoice] = owner_client.get(f"{API}/{workspace.slug}/invoices").json()

    assert set(invoice) >= {"id", "workspace_id", "amount", "currency", "status", "invoice_date", "due_date", "pdf_url"}
    assert invoice["id"].startswith("in_")
    assert (invoice["amount"], invoice["currency"], invoice["status"]) == (29.0, "USD", "paid")
    assert invoice["invoice_date"].endswith("Z")


def test_status_filter(stripe_sandbox, workspace, owner_client):
    subscribe(owner_client, workspace, stripe_sandbox, plan="starter")

    assert len(owner_client.get(f"{API}/{workspace.slug}/invoices", {"status": "paid"}).json()) == 1
    open_only = owner_client.get(f"{API}/{workspace.slug}/invoices", {"status": "open"})
    assert open_only.json() == []
    assert open_only["X-Total-Count"] == "0"


@pytest.mark.parametrize(
    ("params", "field"), [({"status": "late"}, "status"), ({"limit": 0}, "limit"), ({"page": "x"}, "page")]
)
def test_invalid_parameters_are_refused(stripe_sandbox, workspace, owner_client, params, field):
    code = "VALIDATION_ERROR" if field == "status" else "INVALID_PAGINATION"
    body = assert_error(owner_client.get(f"{API}/{workspace.slug}/invoices", params), status=400, code=code)
    assert field in body["details"]


def test_list_query_count_is_fixed(stripe_sandbox, workspace, owner_client, django_assert_num_queries):
    subscribe(owner_client, workspace, stripe_sandbox, plan="starter")
    with django_assert_num_queries(2):  # membership with its user, the page (with customers) and its total
        owner_client.get(f"{API}/{workspace.slug}/invoices")


def test_another_workspaces_invoice_is_not_found(stripe_sandbox, workspace, other_workspace, owner_client):
    other_owner = client_for(other_workspace.owner)
    subscribe(other_owner, other_workspace, stripe_sandbox, plan="starter")
    [foreign] = other_owner.get(f"{API}/{other_workspace.slug}/invoices").json()

    assert_error(
        owner_client.get(f"{API}/{workspace.slug}/invoice/{foreign['id']}"), status=404, code="INVOICE_NOT_FOUND"
    )
    assert owner_client.get(f"{API}/{workspace.slug}/invoices").json() == []


def test_invoice_detail_query_count_is_fixed(stripe_sandbox, workspace, owner_client, django_assert_num_queries):
    subscribe(owner_client, workspace, stripe_sandbox, plan="starter")
    [invoice] = owner_client.get(f"{API}/{workspace.slug}/invoices").json()
    with django_assert_num_queries(2):  # membership with its user, the invoice with its customer
        response = owner_client.get(f"{API}/{workspace.slug}/invoice/{invoice['id']}")
    assert response.json()["id"] == invoice["id"]
