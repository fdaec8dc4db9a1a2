"""The billing console in the admin, and the "Billing" staff group."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from billing.models import Plan
from billing.roles import BILLING_GROUP_NAME, BILLING_GROUP_PERMISSIONS, sync_billing_group
from tests.billing.helpers import subscribe
from tests.factories import UserFactory, WorkspaceFactory
from tests.helpers import client_for

CHANGELIST = "/admin/billing/workspacebilling/"


@pytest.fixture
def billing_group():
    return sync_billing_group(group_model=Group, permission_model=Permission)


@pytest.fixture
def billing_staff_user(billing_group):
    user = UserFactory.create(is_staff=True)
    user.groups.add(billing_group)
    return user


@pytest.fixture
def billing_staff(billing_staff_user):
    client = Client()
    client.force_login(billing_staff_user)
    return client


@pytest.fixture
def subscribed(stripe_sandbox, workspace):
    subscribe(client_for(workspace.owner), workspace, stripe_sandbox, plan="pro")
    workspace.refresh_from_db()
    return workspace


def test_the_group_has_exactly_the_console_permissions(billing_group):
    granted = set(billing_group.permissions.values_list("content_type__app_label", "codename"))
    assert granted == set(BILLING_GROUP_PERMISSIONS)
    assert billing_group.name == BILLING_GROUP_NAME


def test_the_workspace_billing_page_shows_plan_subscription_customer_cards_invoices_and_overage(
    subscribed, billing_staff
):
    customer = subscribed.djstripe_customers.get()
    invoice = customer.invoices.get()

    response = billing_staff.get(f"{CHANGELIST}{subscribed.pk}/change/")

    assert response.status_code == 200
    page = response.content.decode()
    for expected in (customer.id, "active", "visa •••• 4242", "— default", invoice.id, "99.00 USD", "pro"):
        assert expected in page, expected


def test_billing_staff_work_on_the_console_pages_not_on_dj_stripe_or_other_admin_pages(subscribed, billing_staff):
    customer = subscribed.djstripe_customers.get()
    invoice = customer.invoices.get()
    assert billing_staff.get(f"/admin/djstripe/customer/{customer.djstripe_id}/change/").status_code == 403
    assert billing_staff.get("/admin/djstripe/invoice/").status_code == 403
    assert billing_staff.get(f"/admin/billing/workspacebilling/invoices/{invoice.djstripe_id}/").status_code == 200
    assert billing_staff.get(f"/admin/workspaces/workspace/{subscribed.pk}/change/").status_code == 200  # customer page
    assert billing_staff.get("/admin/workspaces/exportjob/").status_code == 403
    assert billing_staff.get("/admin/audit/auditevent/").status_code == 403
    assert billing_staff.get("/admin/billing/plan/").status_code == 200
    assert billing_staff.post("/admin/billing/plan/add/", {}).status_code == 403
    assert "djstripe" not in billing_staff.get("/admin/").content.decode()


def test_the_changelist_costs_the_same_queries_for_more_workspaces(stripe_sandbox, billing_staff):
    WorkspaceFactory.create_batch(2)
    with CaptureQueriesContext(connection) as few:
        assert billing_staff.get(CHANGELIST).status_code == 200
    WorkspaceFactory.create_batch(5)
    with CaptureQueriesContext(connection) as many:
        billing_staff.get(CHANGELIST)
    assert len(many) == len(few)


def test_sync_from_stripe_repairs_drift_and_is_audited_as_staff(subscribed, billing_staff, billing_staff_user):
    type(subscribed).objects.filter(pk=subscribed.pk).update(plan=Plan.objects.get(code="free"))

    response = billing_staff.post(
        CHANGELIST, {"action": "sync_from_stripe", "_selected_action": [str(subscribed.pk)]}, follow=True
    )

    assert "plan is &#x27;free&#x27; but Stripe bills &#x27;pro&#x27;" in response.content.decode()
    subscribed.refresh_from_db()
    assert subscribed.plan.code == "pro"
    synced = AuditEvent.objects.get(workspace_id=subscribed.pk, type="billing.synced")
    assert (synced.actor_type, synced.actor_id) == ("staff", str(billing_staff_user.pk))


def test_change_plan_preselects_the_current_plan_shows_the_proration_then_changes_it_with_the_reason(
    subscribed, billing_staff, billing_staff_user, stripe_sandbox
):
    selection = {"action": "change_plan", "_selected_action": [str(subscribed.pk)]}
    pro, starter = Plan.objects.get(code="pro"), Plan.objects.get(code="starter")
    form = billing_staff.post(CHANGELIST, selection)
    assert form.status_code == 200 and b"Change plan" in form.content
    assert f'<option value="{pro.pk}" selected>'.encode() in form.content

    preview = billing_staff.post(
        CHANGELIST, {**selection, "preview": "1", "plan": str(starter.pk), "reason": "Downsizing"}
    )

    page = preview.content.decode()
    assert 'id="proration-preview"' in page and 'id="confirm-change-plan"' in page
    # localstripe has no proration preview: the page says it is an estimate, a credit for a cheaper plan
    assert "estimate" in page and "-" in page.split('class="proration-amount"', 1)[1][:40]
    subscribed.refresh_from_db()
    assert subscribed.plan.code == "pro"  # nothing changes before the confirmation

    response = billing_staff.post(
        CHANGELIST, {**selection, "apply": "1", "plan": str(starter.pk), "reason": "Downsizing"}, follow=True
    )

    assert "now on &#x27;starter&#x27;." in response.content.decode()
    subscribed.refresh_from_db()
    assert subscribed.plan.code == "starter"
    customer = subscribed.djstripe_customers.get().id
    [subscription] = stripe_sandbox.get("subscriptions", customer=customer)["data"]
    assert subscription["items"]["data"][0]["price"]["id"] == starter.stripe_price_monthly_id
    change = AuditEvent.objects.filter(workspace_id=subscribed.pk, type="plan.changed").latest("id")
    assert (change.actor_type, change.actor_id) == ("staff", str(billing_staff_user.pk))
    assert change.summary == "Plan changed from 'pro' to 'starter' (Downsizing)"


def test_change_plan_needs_a_reason(subscribed, billing_staff):
    starter = Plan.objects.get(code="starter")
    response = billing_staff.post(
        CHANGELIST,
        {"action": "change_plan", "_selected_action": [str(subscribed.pk)], "apply": "1", "plan": str(starter.pk)},
    )
    assert response.status_code == 200 and b"This field is required" in response.content
    subscribed.refresh_from_db()
    assert subscribed.plan.code == "pro"


def test_change_plan_reports_what_billing_refuses(stripe_sandbox, workspace, billing_staff):
    pro = Plan.objects.get(code="pro")
    response = billing_staff.post(
        CHANGELIST,
        {
            "action": "change_plan",
            "_selected_action": [str(workspace.pk)],
            "apply": "1",
            "plan": str(pro.pk),
            "reason": "Upgrade asked by phone",
        },
        follow=True,
    )
    assert "needs a default payment method" in response.content.decode()
    workspace.refresh_from_db()
    assert workspace.plan.code == "free"
