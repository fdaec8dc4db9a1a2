"""The authenticated read hot paths (issue 12, bench/http.py) take a fixed number of queries, through
HTTP, whatever the tenant holds: as many with a handful of members, issues, events and invoices as
with many (a second tenant beside it holds as much again)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from djstripe.models import Customer, Invoice
from rest_framework.test import APIClient

from audit.services import record
from support.models import SupportIssue
from tests.factories import MembershipFactory, WorkspaceFactory
from tests.helpers import API, client_for
from usage.services import ingest_events

SERVICE_TOKEN = "platform-service-token-for-hot-path-tests"
SMALL, LARGE = 2, 30  # LARGE is beyond one page of every list (20 by default)


def _invoices(workspace, count):
    customer = Customer.objects.create(
        id=f"cus_{workspace.slug}", subscriber=workspace, livemode=False, stripe_data={"id": f"cus_{workspace.slug}"}
    )
    start = datetime(2025, 1, 1, tzinfo=UTC)
    for n in range(count):
        created = start + timedelta(days=30 * n)
        stamp = int(created.timestamp())
        Invoice.objects.create(
            id=f"in_{workspace.slug}_{n}",
            customer=customer,
            livemode=False,
            created=created,
            stripe_data={"id": f"in_{workspace.slug}_{n}", "status": "paid", "currency": "usd", "total": 2900,
                         "amount_paid": 2900, "amount_due": 2900, "period_start": stamp, "period_end": stamp},
        )  # fmt: skip


def _busy_tenant(count):
    """A workspace with `count` members, support issues, audit events, usage reports and invoices."""
    workspace = WorkspaceFactory.create()
    members = [MembershipFactory.create(workspace=workspace).user for _ in range(count)]
    for n in range(count):
        SupportIssue.objects.create(workspace=workspace, title=f"Issue {n}", description="Slow.", created_by=members[n])
        record(workspace=workspace, event_type="workspace.updated", resource_type="workspace",
               resource_id=workspace.pk, summary=f"Update {n}", actor=members[n])  # fmt: skip
    now = timezone.now()
    ingest_events(
        events=[
            {"id": f"{workspace.slug}-{metric}-{n}", "workspace": workspace.slug, "metric": metric, "value": 10,
             "timestamp": (now - timedelta(hours=n)).isoformat()}
            for n in range(count)
            for metric in ("function_invocations", "records")
        ]
    )  # fmt: skip
    _invoices(workspace, count)
    return workspace


@pytest.fixture(params=[SMALL, LARGE], ids=["small-tenant", "large-tenant"])
def tenant(request, settings):
    settings.STRIPE_SECRET_KEY = "sk_test_hot_paths"  # invoices are read locally; Stripe is never called
    settings.PLATFORM_SERVICE_TOKEN = SERVICE_TOKEN
    _busy_tenant(request.param)  # the neighbour, as busy
    return _busy_tenant(request.param)


def _service_client():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {SERVICE_TOKEN}", HTTP_X_SERVICE_NAME="hot-path-tests")
    return client


# (path under /{slug}, queries): each comment says what they are.
MEMBER_READS = [
    ("", 1),  # the membership with its user, workspace and plan
    ("/support-issues", 2),  # the membership, the page with its total
    ("/audit/activity", 2),  # the membership, the page
    ("/usage/current", 2),  # the membership with the billing terms (subscription and overage), counters and gauges
    ("/invoices", 2),  # the membership, the page (with customers) with its total
    ("/overview", 4),  # the membership, members and those active this week, usage, recent activity
]


@pytest.mark.parametrize(("path", "queries"), MEMBER_READS, ids=[path or "/" for path, _ in MEMBER_READS])
def test_a_members_read_takes_a_fixed_number_of_queries(tenant, path, queries, django_assert_num_queries):
    client = client_for(tenant.owner)
    client.get(f"{API}/{tenant.slug}{path}")  # warm: nothing a first request does differently is counted

    with django_assert_num_queries(queries):
        response = client.get(f"{API}/{tenant.slug}{path}")

    assert response.status_code == 200, response.content


def test_the_quota_check_takes_a_fixed_number_of_queries(tenant, django_assert_num_queries):
    client = _service_client()

    # the workspace with its plan and its billing terms (subscription and overage settings), then its usage
    with django_assert_num_queries(2):
        response = client.get(f"{API}/internal/workspaces/{tenant.slug}/quota")

    assert response.status_code == 200, response.content


def test_a_non_member_costs_one_query_more_than_a_member(tenant, django_assert_num_queries):
    outsider = client_for(WorkspaceFactory.create().owner)

    with django_assert_num_queries(3):  # no membership with the user, the user alone, does the workspace exist
        response = outsider.get(f"{API}/{tenant.slug}")

    assert response.status_code == 403
