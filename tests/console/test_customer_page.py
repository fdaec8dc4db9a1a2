"""Each workspace's customer page: what every app knows of the customer, linked from and to the
support, billing and audit pages."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from djstripe.models import Invoice

from support.models import SupportIssue
from usage.models import DailyUsage

pytestmark = pytest.mark.django_db


def _page(client, workspace):
    response = client.get(reverse("admin:workspaces_workspace_change", args=[workspace.pk]))
    assert response.status_code == 200
    return response.content.decode()


def _section(html, key):
    return html.split(f'id="section-{key}"', 1)[1].split("</section>", 1)[0]


def test_the_customer_page_shows_everything_about_the_customer(back_office, admin_client_for, superuser):
    customer = back_office["customer"]
    html = _page(admin_client_for(superuser), customer)

    members = _section(html, "members")
    assert customer.owner.email in members and "Owner" in members and "Admin" in members
    billing = _section(html, "billing")
    assert "Pro" in billing and "renews on" in billing and "active" in billing
    assert "visa •••• 4242" in billing and "— default" in billing
    assert "function_invocations" in billing and "240" in billing and "ii_test_overage" in billing
    invoices = _section(html, "invoices")
    for invoice in Invoice.objects.filter(customer__subscriber=customer):
        assert reverse("admin:billing_invoice", args=[invoice.djstripe_id]) in invoices
    usage = _section(html, "usage")
    assert usage.count("<svg") == 4 and "<polyline" in usage
    assert "the plan limit is far above this scale" in usage  # pro's 2M records against 2,500
    assert "http" not in usage.replace('xmlns="http://www.w3.org/2000/svg"', "")  # no external assets
    support = _section(html, "support")
    assert "Production is down" in support and "How do I export?" in support and "Old question" not in support
    assert "failed" in _section(html, "provisioning") and "quota exceeded upstream" in _section(html, "provisioning")
    assert "disk full" in _section(html, "exports") and "Re-run" in _section(html, "exports")
    assert "plan.changed" in _section(html, "audit") or "Plan changed" in _section(html, "audit")


def test_the_usage_chart_draws_the_plan_limit(admin_client_for, superuser, workspace):
    today = timezone.now().date()
    DailyUsage.objects.bulk_create(
        [
            DailyUsage(
                workspace=workspace,
                metric="records",
                day=today - timedelta(days=offset),
                value=9000 - 100 * offset,
                last_event_at=timezone.now(),
                updated_at=timezone.now(),
            )
            for offset in range(30)
        ]
    )
    html = _section(_page(admin_client_for(superuser), workspace), "usage")
    records = html.split('id="usage-records"', 1)[1].split("</figure>", 1)[0]

    assert "9000 of 10000 (90%)" in records  # the free plan's 10,000 records
    assert 'class="limit-line"' in records
    polyline = re.search(r'<polyline points="([^"]+)"', records)
    assert polyline is not None
    points = polyline.group(1).split()
    assert len(points) == 30
    heights = [float(point.split(",")[1]) for point in points]
    assert heights == sorted(heights, reverse=True)  # growing usage climbs (SVG y grows downwards)


def test_the_customer_page_links_onward_and_the_other_pages_link_back(back_office, admin_client_for, superuser):
    client = admin_client_for(superuser)
    customer = back_office["customer"]
    page_url = reverse("admin:workspaces_workspace_change", args=[customer.pk])
    html = _page(client, customer)

    issue = SupportIssue.objects.get(title="Production is down")
    onward = [
        reverse("admin:support_supportissue_change", args=[issue.pk]),
        reverse("admin:billing_workspacebilling_change", args=[customer.pk]),
        reverse("admin:audit_auditevent_changelist") + f"?workspace__id__exact={customer.pk}",
        reverse("admin:billing_invoices") + "?workspace=acme",
    ]
    for url in onward:
        assert f'href="{url.replace("&", "&amp;")}"' in html, url
        assert page_url in client.get(url).content.decode(), url  # and back
    invoice = back_office["invoice"]
    assert page_url in client.get(reverse("admin:billing_invoice", args=[invoice.djstripe_id])).content.decode()
    assert page_url in client.get(reverse("admin:support_supportissue_changelist")).content.decode()


def test_support_and_billing_staff_reach_the_customer_page_with_the_sections_of_their_work(
    back_office, admin_client_for, support_agent, billing_agent
):
    customer = back_office["customer"]
    support_page = _page(admin_client_for(support_agent), customer)
    billing_page = _page(admin_client_for(billing_agent), customer)

    assert 'id="section-support"' in support_page and 'id="section-billing"' not in support_page
    assert 'id="section-billing"' in billing_page and 'id="section-invoices"' in billing_page
    for page in (support_page, billing_page):
        assert 'id="section-usage"' in page and 'id="section-audit"' in page
        assert 'id="action-suspend"' not in page  # staff actions on the workspace need its change permission
    assert 'id="action-change-plan"' in billing_page and 'id="action-change-plan"' not in support_page


def test_invoice_pages_read_any_invoice_stripe_sends(back_office, admin_client_for, billing_agent):
    client = admin_client_for(billing_agent)
    lean = back_office["invoice"]

    listing = client.get(reverse("admin:billing_invoices"), {"workspace": "acme"}).content.decode()
    detail = client.get(reverse("admin:billing_invoice", args=[lean.djstripe_id])).content.decode()

    assert reverse("admin:billing_invoice", args=[lean.djstripe_id]) in listing
    assert lean.id in detail and 'id="invoice-lines"' in detail and "99.00 USD" in detail
    if lean.stripe_data.get("hosted_invoice_url"):
        assert 'id="hosted-invoice-link"' in detail
    uncollectible = client.get(reverse("admin:billing_invoices"), {"status": "uncollectible"}).content.decode()
    assert "CONSOLE-0004" in uncollectible and "CONSOLE-0001" not in uncollectible
    assert client.get(reverse("admin:billing_invoice", args=[10**9])).status_code == 404
