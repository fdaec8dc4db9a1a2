"""Usage reads must not slow down as a workspace's history grows.

Every usage read and quota check starts from `usage_totals` (counters summed over the period,
each gauge at its newest value), and the overview from `overview_usage` (counters today and over
the last 7 days, the newest value of each metric). Baseline: a workspace with 30 days of daily
rollups for every metric. Measured: the same reads for a workspace with 730 days (two years)
beside it. A ratio near 1.0 means they read a period's rows and one index probe per metric,
whatever the history; the quota check over HTTP (Django's test client) is reported the same way.
"""

from datetime import timedelta

from bench.harness import markdown_table, median_seconds, throwaway_database

SHORT_DAYS = 30
LONG_DAYS = 730
SERVICE_TOKEN = "bench-usage-history-token"


def _workspace_with_history(slug, days):
    from django.utils import timezone

    from billing.models import Plan
    from usage.metrics import METRICS
    from usage.models import DailyUsage
    from workspaces.models import User, Workspace

    owner = User.objects.create(username=f"owner-{slug}", email=f"{slug}@bench.test")
    workspace = Workspace.objects.create(name=slug, slug=slug, owner=owner, plan=Plan.objects.get(code="free"))
    now = timezone.now()
    today = now.date()
    DailyUsage.objects.bulk_create(
        [
            DailyUsage(
                workspace=workspace,
                metric=metric,
                day=today - timedelta(days=n),
                value=n + 1,
                last_event_at=now,
                updated_at=now,
            )
            for metric in METRICS
            for n in range(days)
        ],
        batch_size=5000,
    )
    return workspace


def _measure(workspace):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone
    from rest_framework.test import APIClient

    from billing.selectors import current_billing_period
    from usage.selectors import overview_usage, period_days, usage_totals

    start_day, end_day = period_days(current_billing_period(workspace=workspace, now=timezone.now()))
    totals = median_seconds(lambda: usage_totals(workspace=workspace, start_day=start_day, end_day=end_day))
    overview = median_seconds(lambda: overview_usage(workspace=workspace, today=timezone.now().date()))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {SERVICE_TOKEN}")
    url = f"/workspace/api/v1/internal/workspaces/{workspace.slug}/quota"
    assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    query_count = len(queries)
    return totals, overview, median_seconds(lambda: client.get(url)), query_count


def main():
    from django.conf import settings
    from django.db import connection

    settings.PLATFORM_SERVICE_TOKEN = SERVICE_TOKEN
    with throwaway_database():
        short = _workspace_with_history("short-history", SHORT_DAYS)
        long = _workspace_with_history("long-history", LONG_DAYS)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        # Alternately, twice each, keeping the faster: whichever goes first pays the warm-up.
        samples: dict[str, list[tuple[float, float, float, int]]] = {short.slug: [], long.slug: []}
        for workspace in (short, long, short, long):
            samples[workspace.slug].append(_measure(workspace))
        short_figures = [min(values) for values in zip(*samples[short.slug], strict=True)]
        long_figures = [min(values) for values in zip(*samples[long.slug], strict=True)]
    ratios = " / ".join(f"{long / short:.2f}" for long, short in zip(long_figures[:3], short_figures[:3], strict=True))
    print(
        markdown_table(
            [
                "history",
                "median usage_totals",
                "median overview_usage",
                "median quota check",
                "quota queries",
                "ratio (totals / overview / quota)",
            ],
            [
                [
                    f"{SHORT_DAYS} days",
                    *(f"{seconds * 1000:.2f} ms" for seconds in short_figures[:3]),
                    short_figures[3],
                    "1.00 / 1.00 / 1.00 (baseline)",
                ],
                [
                    f"{LONG_DAYS} days",
                    *(f"{seconds * 1000:.2f} ms" for seconds in long_figures[:3]),
                    long_figures[3],
                    ratios,
                ],
            ],
        )
    )


if __name__ == "__main__":
    main()
