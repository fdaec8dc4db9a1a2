"""The audit reads must stay index scans at a million events (PostgreSQL).

Loads AUDIT_BENCH_EVENTS events (default 1,000,000) over 20 workspaces, half of them in
the measured workspace. For each read of /{slug}/audit/activity and /history it reports
the plan PostgreSQL picks (EXPLAIN ANALYZE) and the HTTP latency (best of 60 requests;
on a shared machine the minimum is the stable figure) against a baseline: the first page
of the same workspace when it held 1,000 events. The CSV export's peak Python memory is
compared between 10k rows and the whole workspace.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/centrali_bench .venv/bin/python -m bench.audit_activity
"""

import os
import re
import time
import tracemalloc
from datetime import UTC, datetime, timedelta

from bench.harness import markdown_table, throwaway_database

EVENTS = int(os.environ.get("AUDIT_BENCH_EVENTS", 1_000_000))
WORKSPACES = 20
BASELINE_EVENTS = 1_000
START = datetime(2025, 1, 1, tzinfo=UTC)


def _insert_events(workspace_ids, count, *, first_n):
    """Bulk-load `count` events in SQL; ids interleave the workspaces like real traffic.
    Chain hashes are placeholders: the bench measures reads, not the chain."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO audit_auditevent (workspace_id, type, resource_type, resource_id, actor_id, actor_type,
                summary, metadata, user_agent, request_id, created_at, previous_hash, entry_hash)
            SELECT (%(ids)s::uuid[])[CASE WHEN n %% 2 = 0 THEN 1 ELSE 2 + (n / 2) %% (%(others)s) END],
                   (ARRAY['workspace.updated','member.added','plan.changed','structure.created',
                          'function.deployed','export.requested'])[1 + (n / 2) %% 6],
                   (ARRAY['workspace','membership','plan','structure','function','export'])[1 + (n / 2) %% 6],
                   'res_' || ((n / 2) %% 5000),
                   'actor_' || ((n / 2) %% 200),
                   'user',
                   'Event number ' || n || ' on res_' || ((n / 2) %% 5000),
                   '{}'::jsonb, '', '',
                   %(start)s::timestamptz + (n * interval '30 seconds'),
                   '', 'x'
            FROM generate_series(%(first)s, %(last)s) AS n
            """,
            {
                "ids": [str(i) for i in workspace_ids],
                "others": len(workspace_ids) - 1,
                "start": START,
                "first": first_n,
                "last": first_n + count - 1,
            },
        )
        cursor.execute("ANALYZE audit_auditevent")


def _plan(queryset):
    plan = queryset.explain(analyze=True)
    nodes = re.findall(
        r"(Index Only Scan|Index Scan Backward|Index Scan|Bitmap Index Scan|Seq Scan)(?: using| on) (\w+)", plan
    )
    used = ", ".join(f"{kind} {index}".strip() for kind, index in nodes) or plan.splitlines()[0]
    execution_time = re.search(r"Execution Time: ([\d.]+) ms", plan)
    assert execution_time, plan
    ms = execution_time.group(1)
    return used, f"{ms} ms", "Seq Scan" not in plan


def _client(workspace):
    from rest_framework.test import APIClient

    from centrali.api.authentication import issue_access_token

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_access_token(workspace.owner)}")
    return client


def _http(client, url, params, *, repeat=60):
    """Best of `repeat` requests: on a shared machine the minimum is the stable figure."""
    response = client.get(url, params)
    assert response.status_code == 200, response.content
    for _ in range(10):
        client.get(url, params)
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        client.get(url, params)
        samples.append(time.perf_counter() - started)
    return min(samples)


def _export_peak_bytes(client, url, params):
    tracemalloc.start()
    response = client.get(url, params)
    rows = sum(chunk.count(b"\n") for chunk in response.streaming_content) - 1
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return rows, peak


def main():
    from django.db import connection

    from audit.db import install_search_indexes
    from audit.models import AuditEvent
    from audit.selectors import ActivityFilters, filtered_events
    from centrali.paging import encode_cursor
    from tests.factories import WorkspaceFactory
    from workspaces.models import Workspace

    with throwaway_database():
        # The test database skips migrations: install the PostgreSQL-only indexes they add.
        install_search_indexes(connection)
        workspaces: list[Workspace] = [WorkspaceFactory.create() for _ in range(WORKSPACES)]
        target = workspaces[0]
        ids = [w.pk for w in workspaces]
        client = _client(target)
        base = f"/workspace/api/v1/{target.slug}/audit"

        _insert_events(ids, BASELINE_EVENTS * 2, first_n=0)
        baseline = _http(client, f"{base}/activity", {}, repeat=200)

        _insert_events(ids, EVENTS - BASELINE_EVENTS * 2, first_n=BASELINE_EVENTS * 2)
        in_target = AuditEvent.objects.filter(workspace=target).count()
        total = AuditEvent.objects.count()
        oldest_ids = list(AuditEvent.objects.filter(workspace=target).order_by("id").values_list("id", flat=True)[:100])
        deep_cursor = encode_cursor(oldest_ids[60])
        mid = START + timedelta(seconds=30 * EVENTS // 2)
        window = {"dateFrom": mid.isoformat(), "dateTo": (mid + timedelta(hours=6)).isoformat()}

        cases = [
            ("first page", f"{base}/activity", {}, ActivityFilters(), None),
            ("deepest page (cursor)", f"{base}/activity", {"cursor": deep_cursor}, ActivityFilters(), oldest_ids[60]),
            (
                "resourceType=structure",
                f"{base}/activity",
                {"resourceType": "structure"},
                ActivityFilters(resource_type="structure"),
                None,
            ),
            (
                "type=plan.changed",
                f"{base}/activity",
                {"type": "plan.changed"},
                ActivityFilters(type="plan.changed"),
                None,
            ),
            (
                "actorId=actor_42",
                f"{base}/activity",
                {"actorId": "actor_42"},
                ActivityFilters(actor_id="actor_42"),
                None,
            ),
            (
                "6-hour date window, mid-history",
                f"{base}/activity",
                window,
                ActivityFilters(
                    date_from=datetime.fromisoformat(window["dateFrom"]),
                    date_to=datetime.fromisoformat(window["dateTo"]),
                ),
                None,
            ),
            (
                "search=res_4242 (rare)",
                f"{base}/activity",
                {"search": "res_4242"},
                ActivityFilters(search="res_4242"),
                None,
            ),
            ("history structure/res_4243", f"{base}/structure/res_4243/history", {}, None, None),
        ]
        small = workspaces[1]
        small_count = AuditEvent.objects.filter(workspace=small).count()
        used, sql_ms, no_seq_scan = _plan(AuditEvent.objects.filter(workspace=small).order_by("-id")[:51])
        latency = _http(_client(small), f"/workspace/api/v1/{small.slug}/audit/activity", {})
        rows = [
            [
                f"first page, a workspace with {small_count:,} events",
                used,
                "yes" if no_seq_scan else "**no**",
                sql_ms,
                f"{latency * 1000:.1f} ms",
                f"{latency / baseline:.2f}",
            ]
        ]
        for name, url, params, filters, after in cases:
            if filters is None:
                queryset = AuditEvent.objects.filter(
                    workspace=target, resource_type="structure", resource_id="res_4243"
                )
            else:
                queryset = filtered_events(workspace=target, filters=filters)
            if after is not None:
                queryset = queryset.filter(id__lt=after)
            used, sql_ms, no_seq_scan = _plan(queryset.order_by("-id")[:51])
            latency = _http(client, url, params)
            rows.append(
                [
                    name,
                    used,
                    "yes" if no_seq_scan else "**no**",
                    sql_ms,
                    f"{latency * 1000:.1f} ms",
                    f"{latency / baseline:.2f}",
                ]
            )

        small_rows, small_peak = _export_peak_bytes(
            client, f"{base}/export", {"dateTo": (START + timedelta(seconds=30 * 20_000)).isoformat()}
        )
        all_rows, all_peak = _export_peak_bytes(client, f"{base}/export", {})

    print(
        f"{total:,} events in {WORKSPACES} workspaces, {in_target:,} in the measured one; "
        f"baseline: first page with {BASELINE_EVENTS:,} events in the workspace = {baseline * 1000:.1f} ms\n"
    )
    print(
        markdown_table(
            ["read", "plan (EXPLAIN ANALYZE)", "no Seq Scan", "SQL time", "HTTP (best of 60)", "vs baseline"], rows
        )
    )
    print()
    print(
        markdown_table(
            ["CSV export", "rows", "peak Python memory"],
            [
                ["small", f"{small_rows:,}", f"{small_peak / 1e6:.1f} MB"],
                ["whole workspace", f"{all_rows:,}", f"{all_peak / 1e6:.1f} MB"],
            ],
        )
    )


if __name__ == "__main__":
    main()
