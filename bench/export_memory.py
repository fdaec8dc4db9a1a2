"""The export's memory must stay flat however large the workspace is.

Builds two workspaces, a small one and one SCALE times larger (members and audit events), runs
the real export job of each (workspaces.exporter.run_export_job, filesystem storage in a temporary
MEDIA_ROOT) and reports the peak Python memory of each run (tracemalloc) and the ratio
large/small: near 1 means flat. Rows stream in EXPORT_BATCH_SIZE batches, so the peak should track
the batch size, not the workspace size.

    .venv/bin/python -m bench.export_memory
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/centrali_bench .venv/bin/python -m bench.export_memory
"""

import os
import tempfile
import time
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta

from bench.harness import markdown_table, throwaway_database

SMALL_MEMBERS = int(os.environ.get("EXPORT_BENCH_MEMBERS", 1_000))
SMALL_EVENTS = int(os.environ.get("EXPORT_BENCH_EVENTS", 10_000))
SCALE = int(os.environ.get("EXPORT_BENCH_SCALE", 10))
START = datetime(2025, 1, 1, tzinfo=UTC)


def _workspace_with(*, members, events, label):
    from audit.models import AuditEvent
    from billing.models import Plan
    from workspaces.models import Membership, User, Workspace

    owner = User.objects.create(username=f"owner-{label}", email=f"owner-{label}@bench.test")
    workspace = Workspace.objects.create(name=label, slug=label, owner=owner, plan=Plan.objects.get(code="free"))
    Membership.objects.create(workspace=workspace, user=owner, role="owner")
    for first in range(0, members, 5_000):
        users = User.objects.bulk_create(
            User(id=uuid.uuid4(), username=f"{label}-{n}", email=f"{label}-{n}@bench.test", password="!")
            for n in range(first, min(members, first + 5_000))
        )
        Membership.objects.bulk_create(Membership(workspace=workspace, user=user, role="member") for user in users)
    for first in range(0, events, 5_000):
        AuditEvent.objects.bulk_create(
            AuditEvent(
                workspace=workspace,
                type="member.added",
                resource_type="membership",
                resource_id=f"res-{n}",
                actor_id=str(owner.pk),
                actor_type="user",
                summary=f"Event number {n} of the benchmark workspace {label}",
                metadata={"n": n, "note": "x" * 40},
                created_at=START + timedelta(seconds=n),
                entry_hash="x" * 64,  # placeholder: the bench measures the export, not the chain
            )
            for n in range(first, min(events, first + 5_000))
        )
    return workspace


def _export(workspace):
    from workspaces.exporter import run_export_job
    from workspaces.models import ExportJob

    job = ExportJob.objects.create(workspace=workspace)
    tracemalloc.start()
    tracemalloc.reset_peak()
    started = time.perf_counter()
    run_export_job(job.pk)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    job.refresh_from_db()
    assert job.status == "completed", job.error_message
    return job, peak, elapsed


def main():
    from django.conf import settings

    with tempfile.TemporaryDirectory() as media, throwaway_database():
        settings.MEDIA_ROOT = media
        small = _workspace_with(members=SMALL_MEMBERS, events=SMALL_EVENTS, label="small")
        large = _workspace_with(members=SMALL_MEMBERS * SCALE, events=SMALL_EVENTS * SCALE, label="large")
        _export(small)  # warm-up: imports, first queries, storage directories
        rows = []
        peaks = {}
        for workspace in (small, large):
            job, peak, elapsed = _export(workspace)
            peaks[workspace.slug] = peak
            rows.append(
                [
                    workspace.slug,
                    f"{job.rows_done:,}",
                    f"{job.file_size / 2**20:.1f} MiB",
                    f"{peak / 2**20:.2f} MiB",
                    f"{elapsed:.1f} s",
                ]
            )
        from django.db import connection

        print(
            f"Export peak memory ({connection.vendor}, EXPORT_BATCH_SIZE={settings.EXPORT_BATCH_SIZE}, "
            f"large = {SCALE}x small)\n"
        )
        print(markdown_table(["workspace", "rows", "archive", "peak Python memory", "time"], rows))
        print(f"\nratio of peaks, large / small: {peaks['large'] / peaks['small']:.2f} (1.00 = flat)")


if __name__ == "__main__":
    main()
