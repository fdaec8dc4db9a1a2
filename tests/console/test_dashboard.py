"""The admin index is the staff dashboard: figures that link to the filtered lists, in a bounded number
of queries however many workspaces there are."""

import re
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.models import Plan, StripeWebhookFailure
from support.models import SupportIssue
from tests.factories import UserFactory
from tests.support.factories import CommentFactory, SupportIssueFactory
from workspaces.models import ExportJob, ServiceProvisioning, Workspace

pytestmark = pytest.mark.django_db

# Session and user, then each panel's figures (see the *_figures() of each app's console module):
# workspaces 5, support 3, billing 3, usage 1.
DASHBOARD_QUERY_BUDGET = 14


def _tile(html, label):
    """(count, href) of the dashboard tile labelled `label`."""
    match = re.search(
        r'<a class="console-tile[^"]*" href="([^"]+)"[^>]*aria-label="' + re.escape(label) + r': (\d+)"', html
    )
    assert match, label
    return int(match.group(2)), match.group(1).replace("&amp;", "&")


def _many_workspaces(count):
    owner = UserFactory.create()
    plans = list(Plan.objects.order_by("sort_order"))
    now = timezone.now()
    Workspace.objects.bulk_create(
        [
            Workspace(
                id=uuid.uuid4(),
                name=f"Bulk {n}",
                slug=f"bulk-{n}",
                owner=owner,
                plan=plans[n % len(plans)],
                **(
                    {"status": "cancelled", "deleted_at": now, "restore_deadline": now + timedelta(days=n % 30 + 1)}
                    if n % 100 == 0
                    else {"status": "suspended"}
                    if n % 100 == 1
                    else {}
                ),
            )
            for n in range(count)
        ],
        batch_size=2000,
    )


def test_the_dashboard_counts_and_links_to_the_filtered_lists(back_office, admin_client_for, superuser):
    client = admin_client_for(superuser)
    StripeWebhookFailure.objects.create(
        stripe_event_id="evt_failing", type="invoice.paid", error="StripeUnavailable", last_failed_at=timezone.now()
    )

    html = client.get("/admin/").content.decode()

    assert _tile(html, "Suspended") == (1, "/admin/workspaces/workspace/?status__exact=suspended")
    assert _tile(html, "Cancelled (pending deletion)")[0] == 1
    pro = Plan.objects.get(code="pro")
    assert _tile(html, "Plan pro") == (1, f"/admin/workspaces/workspace/?plan__id__exact={pro.pk}")
    assert _tile(html, "Failed provisioning") == (1, "/admin/workspaces/serviceprovisioning/?status__exact=failed")
    assert _tile(html, "Failed exports") == (1, "/admin/workspaces/exportjob/?status__exact=failed")
    assert _tile(html, "Stuck exports")[0] == 0
    assert _tile(html, "Open urgent issues") == (
        1,
        "/admin/support/supportissue/?queue=unsettled&priority__exact=urgent",
    )
    assert _tile(html, "Open high issues")[0] == 2
    assert _tile(html, "Waiting on staff")[0] == 2  # the urgent one (customer spoke last) and initech's
    assert _tile(html, "Open invoices") == (1, "/admin/billing/workspacebilling/invoices/?status=open")
    assert _tile(html, "Past-due invoices") == (1, "/admin/billing/workspacebilling/invoices/?status=past_due")
    assert _tile(html, "Uncollectible invoices") == (
        1,
        "/admin/billing/workspacebilling/invoices/?status=uncollectible",
    )
    assert _tile(html, "Failed payment webhooks (7 days)") == (1, "/admin/billing/stripewebhookevent/?failed=7d")
    assert _tile(html, "Webhook events failing") == (1, "/admin/billing/stripewebhookfailure/")
    assert _tile(html, "Quota alerts, last day") == (1, "/admin/usage/quotaalert/?raised=1d")
    # the nearest deletion deadline and the oldest issue waiting on staff are named
    assert "initech" in html and "purged after" in html
    urgent = SupportIssue.objects.get(title="Production is down")
    assert f'href="/admin/support/supportissue/{urgent.pk}/change/"' in html
    # each figure's link shows the rows it counts
    for label, expected in (
        ("Failed exports", "acme"),
        ("Waiting on staff", "Production is down"),
        ("Past-due invoices", "CONSOLE-0003"),
        ("Uncollectible invoices", "CONSOLE-0004"),
    ):
        assert expected in client.get(_tile(html, label)[1]).content.decode()
    waiting = client.get(_tile(html, "Waiting on staff")[1]).content.decode()
    assert "How do I export?" not in waiting  # staff answered it last


def test_the_dashboard_renders_in_a_bounded_number_of_queries_with_10000_workspaces(admin_client_for, superuser):
    client = admin_client_for(superuser)
    urgent = SupportIssueFactory.create(priority="urgent")
    CommentFactory.create(issue=urgent)
    with CaptureQueriesContext(connection) as few:
        assert client.get("/admin/").status_code == 200

    _many_workspaces(10_000)
    workspaces = list(Workspace.objects.order_by("slug")[:50])
    ExportJob.objects.bulk_create([ExportJob(workspace=w, status="failed") for w in workspaces])
    ServiceProvisioning.objects.bulk_create(
        [ServiceProvisioning(workspace=w, service="compute", status="failed") for w in workspaces]
    )
    SupportIssue.objects.bulk_create(
        [SupportIssue(workspace=w, title=f"Help {w.slug}", description="?", priority="high") for w in workspaces]
    )
    with CaptureQueriesContext(connection) as many:
        response = client.get("/admin/")

    assert response.status_code == 200
    assert len(many) == len(few) <= DASHBOARD_QUERY_BUDGET, [query["sql"] for query in many.captured_queries]
    html = response.content.decode()
    assert _tile(html, "Cancelled (pending deletion)")[0] == 100
    assert _tile(html, "Suspended")[0] == 100
    assert _tile(html, "Failed exports")[0] == 50
    assert _tile(html, "Open high issues")[0] == 50


def test_staff_groups_see_the_panels_of_their_work_and_no_stripe_mirror(
    back_office, admin_client_for, support_agent, billing_agent, superuser
):
    support_page = admin_client_for(support_agent).get("/admin/").content.decode()
    billing_page = admin_client_for(billing_agent).get("/admin/").content.decode()
    superuser_page = admin_client_for(superuser).get("/admin/").content.decode()

    assert 'id="panel-support"' in support_page and 'id="panel-billing"' not in support_page
    assert 'id="panel-billing"' in billing_page
    for page in (support_page, billing_page):
        assert "/admin/djstripe/" not in page
    # superusers have the mirror, folded away below the staff apps
    assert superuser_page.index('id="stripe-mirror"') > superuser_page.index("/admin/workspaces/workspace/")
    assert "<details" in superuser_page.split('id="stripe-mirror"', 1)[0][-200:]
