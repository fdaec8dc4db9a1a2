"""Ingesting a 1,000-event usage batch, against a plain bulk insert of the same rows.

Baseline: `UsageEvent.objects.bulk_create` of the batch's 1,000 rows (no validation, no
dedup, no rollups). Measured: `usage.services.ingest_events` of the same batch (validation,
idempotent insert, rollup upserts onto existing rollup rows), a replay of a stored batch
(all duplicates), and the whole HTTP request to POST /internal/usage-events. Each sample
runs in a transaction rolled back afterwards, so every sample sees the same database.

    .venv/bin/python -m bench.usage_ingest                                     # SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/centrali_bench .venv/bin/python -m bench.usage_ingest
"""

import os
from datetime import timedelta

from bench.harness import markdown_table, median_seconds, throwaway_database

BATCH = 1_000
WORKSPACES = 20
REPEAT = int(os.environ.get("USAGE_BENCH_REPEAT", 30))
SERVICE_TOKEN = "bench-service-token"


def _batch(workspaces, now, tag):
    from usage.metrics import METRICS

    metrics = sorted(METRICS)
    return [
        {
            "id": f"{tag}-{n}",
            "workspace": workspaces[n % len(workspaces)].slug,
            "metric": metrics[n % len(metrics)],
            "value": n % 50,
            "timestamp": (now - timedelta(minutes=n % 600)).isoformat(),
        }
        for n in range(BATCH)
    ]


def _rolled_back(fn):
    from django.db import transaction

    def run():
        with transaction.atomic():
            fn()
            transaction.set_rollback(True)

    return run


def _count_queries(fn):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        fn()
    return len(captured)


def main():
    with throwaway_database():
        from django.conf import settings
        from django.utils import timezone
        from rest_framework.test import APIClient

        from centrali.celery import app as celery_app
        from tests.factories import WorkspaceFactory
        from usage.models import UsageEvent
        from usage.services import ingest_events
        from workspaces.models import Workspace

        celery_app.conf.task_always_eager = True  # the set-up's quota checks run here, not on a broker
        settings.PLATFORM_SERVICE_TOKEN = SERVICE_TOKEN
        settings.ALLOWED_HOSTS = ["testserver"]
        workspaces: list[Workspace] = [WorkspaceFactory.create() for _ in range(WORKSPACES)]
        now = timezone.now()
        # Existing rollup rows, so the measured upserts take the ON CONFLICT DO UPDATE path.
        # (Measured samples roll back, so their quota checks, queued on commit, never run.)
        stored = _batch(workspaces, now, "stored")
        ingest_events(events=stored)

        fresh = _batch(workspaces, now, "fresh")
        by_ref = {w.slug: w for w in workspaces}
        rows = [
            UsageEvent(
                event_id=e["id"],
                workspace=by_ref[e["workspace"]],
                metric=e["metric"],
                value=e["value"],
                occurred_at=now,
                received_at=now,
            )
            for e in fresh
        ]
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {SERVICE_TOKEN}")

        def post():
            response = client.post("/workspace/api/v1/internal/usage-events", {"events": fresh}, format="json")
            assert response.status_code == 200 and response.json()["accepted"] == BATCH, response.content

        cases = [
            ("baseline: bulk_create of the 1,000 rows", lambda: UsageEvent.objects.bulk_create(rows)),
            ("ingest_events: 1,000 new events", lambda: ingest_events(events=fresh)),
            ("ingest_events: replay of 1,000 stored events", lambda: ingest_events(events=stored)),
            ("POST /internal/usage-events: 1,000 new events", post),
        ]
        results = []
        for name, fn in cases:
            run = _rolled_back(fn)
            seconds = median_seconds(run, repeat=REPEAT, warmup=3)
            results.append((name, seconds, _count_queries(run)))

        baseline = results[0][1]
        from django.db import connection

        print(
            f"\nUsage ingestion, batch of {BATCH} events over {WORKSPACES} workspaces, {connection.vendor}, "
            f"median of {REPEAT} runs\n"
        )
        print(
            markdown_table(
                ["case", "median ms", "ratio to baseline", "queries"],
                [
                    (name, f"{seconds * 1000:.1f}", f"{seconds / baseline:.2f}", queries)
                    for name, seconds, queries in results
                ],
            )
        )


if __name__ == "__main__":
    main()
