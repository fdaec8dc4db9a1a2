"""GET /{slug} must not slow down as the number of tenants grows.

Baseline: the same request with 10 workspaces in the database. Measured: with 10,000
workspaces (and 10,000 owners and memberships). A ratio near 1.0 means the permission
lookup and the read stay index lookups; queries per request are also reported.
"""

from bench.harness import markdown_table, median_seconds, throwaway_database

TENANTS_BASELINE = 10
TENANTS_LARGE = 10_000


def _make_tenants(count, start):
    from billing.models import Plan
    from workspaces.models import Membership, Role, User, Workspace

    plan = Plan.objects.get(code="free")
    users = User.objects.bulk_create(
        [User(username=f"u{start + i}", email=f"u{start + i}@bench.test") for i in range(count)], batch_size=2000
    )
    workspaces = Workspace.objects.bulk_create(
        [Workspace(name=f"W{start + i}", slug=f"w{start + i}", owner=u, plan=plan) for i, u in enumerate(users)],
        batch_size=2000,
    )
    Membership.objects.bulk_create(
        [Membership(workspace=w, user=w.owner, role=Role.OWNER) for w in workspaces], batch_size=2000
    )
    return workspaces[0]


def _measure(workspace):
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    from centrali.api.authentication import issue_access_token

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_access_token(workspace.owner)}")
    url = f"/workspace/api/v1/{workspace.slug}"
    assert client.get(url).status_code == 200
    reset_queries()  # else request_started's reset hides this request's queries from the capture
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    query_count = len(queries)  # read now: the capture is a live view of the connection's log
    return median_seconds(lambda: client.get(url)), query_count


def main():
    with throwaway_database():
        first = _make_tenants(TENANTS_BASELINE, 0)
        baseline, baseline_queries = _measure(first)
        _make_tenants(TENANTS_LARGE - TENANTS_BASELINE, TENANTS_BASELINE)
        large, large_queries = _measure(first)
    print(
        markdown_table(
            ["tenants", "median GET /{slug}", "queries", "ratio vs baseline"],
            [
                [TENANTS_BASELINE, f"{baseline * 1000:.2f} ms", baseline_queries, "1.00 (baseline)"],
                [TENANTS_LARGE, f"{large * 1000:.2f} ms", large_queries, f"{large / baseline:.2f}"],
            ],
        )
    )


if __name__ == "__main__":
    main()
