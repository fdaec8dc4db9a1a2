"""The workspace export (Celery task `workspaces.run_export`) at 100,000 and 1,000,000 audit events:
rows per second against PostgreSQL's COPY of the same rows, and the worker's peak resident memory.

A real Celery worker (prefork, concurrency 1, the broker on REDIS_URL) runs each export of a
workspace of bench.audit_seed; its child's VmRSS is sampled every 20 ms while the job runs. The job's
rate is its rows over its own started_at..finished_at (counting, writing the zip, storing it), the
baseline `COPY (SELECT * FROM audit_auditevent WHERE workspace_id = … ORDER BY id) TO STDOUT WITH CSV`
read with psycopg's copy in this process in the same round. Goal: peak under 200 MB, flat from
100,000 to 1,000,000 rows. The events the export records (export.completed) are deleted afterwards,
so the seeded workspaces keep their sizes; archives go to a temporary MEDIA_ROOT.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/centrali_a3_bench REDIS_URL=redis://127.0.0.1:6379/3 \\
        .venv/bin/python -m bench.export_rows

Environment: EXPORT_ROWS_ROUNDS (default 3).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

from bench.audit_seed import bench_database_url, seed
from bench.harness import markdown_table

ROUNDS = int(os.environ.get("EXPORT_ROWS_ROUNDS", 3))
TIMEOUT_SECONDS = 900


def copy_rate(workspace_id: str) -> float:
    from django.db import connection

    statement = "COPY (SELECT * FROM audit_auditevent WHERE workspace_id = %s ORDER BY id) TO STDOUT WITH CSV"
    rows = 0
    started = time.perf_counter()
    with connection.cursor() as cursor, cursor.cursor.copy(statement, [workspace_id]) as copy:
        for _ in copy:
            rows += 1
    return rows / (time.perf_counter() - started)


def _children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def run_export(workspace_id: str, worker_pid: int) -> dict[str, float]:
    from audit.models import AuditEvent
    from bench.audit_http import RssSampler
    from centrali.tasks import publish
    from workspaces.models import ExportJob, ExportStatus
    from workspaces.services.exports import RUN_EXPORT_TASK
    from workspaces.storage import delete_file

    last_event = AuditEvent.objects.filter(workspace_id=workspace_id).order_by("-id").values_list("id", flat=True)[0]
    job = ExportJob.objects.create(workspace_id=workspace_id)
    with RssSampler(_children(worker_pid)) as rss:
        assert publish(RUN_EXPORT_TASK, str(job.pk)), "the broker refused the task"
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while ExportJob.objects.filter(pk=job.pk, status__in=[ExportStatus.QUEUED, ExportStatus.RUNNING]).exists():
            assert time.monotonic() < deadline, "the export did not finish"
            time.sleep(0.2)
    job.refresh_from_db()
    assert job.status == ExportStatus.COMPLETED, (job.status, job.error_message)
    _, before, peak = rss.serving()
    assert job.finished_at and job.started_at and job.file_size is not None
    seconds = (job.finished_at - job.started_at).total_seconds()
    delete_file(job.file_name)
    AuditEvent.objects.filter(workspace_id=workspace_id, id__gt=last_event).delete()
    ExportJob.objects.filter(pk=job.pk).delete()
    return {
        "rows": job.rows_done,
        "rate": job.rows_done / seconds,
        "seconds": seconds,
        "before": before / 1024,
        "peak": peak / 1024,
        "mib": job.file_size / 2**20,
    }


def main():
    from bench.audit_http import server_env
    from bench.servers import WorkerProcess

    url = bench_database_url()
    if not os.environ.get("REDIS_URL"):
        raise SystemExit("Set REDIS_URL: the export runs in a Celery worker on that broker.")
    workspaces = seed()
    media = tempfile.mkdtemp(prefix="bench-export-rows-")
    os.environ["MEDIA_ROOT"] = media
    from django.conf import settings

    settings.MEDIA_ROOT = media
    log = Path("var") / "bench-export-rows-worker.log"
    log.parent.mkdir(exist_ok=True)
    worker = WorkerProcess({**server_env(url), "MEDIA_ROOT": media}, name="bench-export-a3", log_path=log)
    try:
        deadline = time.monotonic() + 60
        while not (Path(f"/proc/{worker.process.pid}").exists() and _children(worker.process.pid)):
            assert time.monotonic() < deadline, worker.output()
            time.sleep(0.5)
        time.sleep(3)
        samples: dict[str, list[dict[str, float]]] = {slug: [] for slug in workspaces}
        for round_number in range(ROUNDS):
            for slug, seeded in workspaces.items():
                baseline = copy_rate(seeded.workspace_id)
                sample = run_export(seeded.workspace_id, worker.process.pid)
                sample["copy"] = baseline
                sample["ratio"] = sample["rate"] / baseline
                samples[slug].append(sample)
                print(
                    f"round {round_number + 1} {slug}: {sample['rows']:,} rows in {sample['seconds']:.1f} s, "
                    f"{sample['rate']:,.0f} rows/s, COPY {baseline:,.0f} rows/s (ratio {sample['ratio']:.3f}), "
                    f"{sample['mib']:.0f} MiB zip, worker RSS {sample['before']:.0f} -> {sample['peak']:.0f} MiB",
                    flush=True,
                )
    finally:
        worker.stop()

    def median(slug, key):
        return statistics.median(sample[key] for sample in samples[slug])

    print()
    print(
        markdown_table(
            ["audit rows", "COPY rows/s", "export rows/s", "ratio", "archive", "worker RSS before", "worker RSS peak"],
            [
                [
                    f"{workspaces[slug].events:,}",
                    f"{median(slug, 'copy'):,.0f}",
                    f"{median(slug, 'rate'):,.0f}",
                    f"{median(slug, 'ratio'):.3f}",
                    f"{median(slug, 'mib'):.0f} MiB",
                    f"{median(slug, 'before'):.0f} MiB",
                    f"{median(slug, 'peak'):.0f} MiB",
                ]
                for slug in workspaces
            ],
        )
    )
    print(
        f"\npeak RSS growth from 100,000 to 1,000,000 rows: {median('a3-1m', 'peak') - median('a3-100k', 'peak'):+.1f} MiB"
    )


if __name__ == "__main__":
    main()
