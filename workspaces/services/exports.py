"""Full-data exports: the job's life from request to retention. The archive itself is written
by the `workspaces.run_export` task (workspaces.exporter), which reports through these services.

queued -> running -> completed -> expired, or failed from queued/running. One queued or
running export per workspace (a partial unique index decides under concurrent requests).
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import record
from centrali.errors import Conflict, Unavailable
from centrali.metrics import observe_export
from centrali.tasks import publish, publish_on_commit
from workspaces import storage as workspace_storage
from workspaces.models import ACTIVE_EXPORT_STATUSES, ExportJob, ExportStatus, User, Workspace

RUN_EXPORT_TASK = "workspaces.run_export"
# How long a client should wait before asking again when the task queue refused the export.
QUEUE_RETRY_AFTER_SECONDS = 30
NOT_QUEUED_MESSAGE = "The export could not be queued: the task queue is unavailable."


class ExportAbandoned(Conflict):
    """The job stopped being `running` under the task (the sweeper failed it, or it was purged)."""

    code = "EXPORT_ABANDONED"


def request_export(*, workspace: Workspace, actor: User | None, reason: str = "") -> ExportJob:
    """Queue a full-data export requested by `actor`; raises Conflict while another one is active.

    The job and its audit event commit together, then the task is published. If the broker
    refuses it, the job is failed at once (it never sits in `queued`, so the next request is
    accepted) and Unavailable (QUEUE_UNAVAILABLE) is raised. Called inside an outer transaction,
    the task is published when that one commits, and a refusal only fails the job.
    """
    inside_outer_transaction = transaction.get_connection().in_atomic_block
    with transaction.atomic():
        try:
            with transaction.atomic():
                job = ExportJob.objects.create(workspace=workspace, requested_by=actor)
        except IntegrityError:
            raise Conflict(
                "An export of this workspace is already queued or running.", code="EXPORT_IN_PROGRESS"
            ) from None
        record(
            workspace=workspace,
            event_type="export.requested",
            resource_type="export",
            resource_id=job.pk,
            summary="Full data export requested",
            metadata={"job_id": str(job.pk), **({"reason": reason} if reason else {})},
        )
    if inside_outer_transaction:
        publish_on_commit(RUN_EXPORT_TASK, str(job.pk), on_failure=partial(_fail_unqueued, job=job))
        return job
    if not publish(RUN_EXPORT_TASK, str(job.pk)):
        _fail_unqueued(job=job)
        raise Unavailable(
            "The task queue is unavailable; the export was not started. Try again shortly.",
            code="QUEUE_UNAVAILABLE",
            retry_after=QUEUE_RETRY_AFTER_SECONDS,
        )
    return job


def _fail_unqueued(*, job: ExportJob) -> None:
    fail_export_job(job=job, message=NOT_QUEUED_MESSAGE)


def claim_export_job(*, job_id: UUID | str) -> ExportJob | None:
    """queued -> running, once: a redelivered message finds the job no longer queued and stops."""
    now = timezone.now()
    claimed = ExportJob.objects.filter(pk=job_id, status=ExportStatus.QUEUED).update(
        status=ExportStatus.RUNNING, stage="counting", started_at=now, heartbeat_at=now
    )
    if not claimed:
        return None
    return ExportJob.objects.select_related("workspace", "workspace__plan").get(pk=job_id)


def record_export_progress(
    *, job: ExportJob, stage: str, rows_done: int | None = None, rows_total: int | None = None
) -> None:
    """Progress and heartbeat of a running job; raises ExportAbandoned if it is not running any more."""
    changes: dict[str, Any] = {"stage": stage, "heartbeat_at": timezone.now()}
    if rows_done is not None:
        changes["rows_done"] = rows_done
    if rows_total is not None:
        changes["rows_total"] = rows_total
    if not ExportJob.objects.filter(pk=job.pk, status=ExportStatus.RUNNING).update(**changes):
        raise ExportAbandoned(f"Export {job.pk} is no longer running.")
    for field, value in changes.items():
        setattr(job, field, value)


def complete_export_job(
    *, job: ExportJob, rows: int, file_name: str, file_size: int, checksum_sha256: str
) -> ExportJob:
    """running -> completed with the stored file; `rows` is what was written (the count may have moved)."""
    now = timezone.now()
    with transaction.atomic():
        completed = ExportJob.objects.filter(pk=job.pk, status=ExportStatus.RUNNING).update(
            status=ExportStatus.COMPLETED,
            stage="done",
            rows_done=rows,
            rows_total=rows,
            file_name=file_name,
            file_size=file_size,
            checksum_sha256=checksum_sha256,
            finished_at=now,
            heartbeat_at=now,
            expires_at=now + settings.EXPORT_RETENTION,
        )
        if not completed:
            raise ExportAbandoned(f"Export {job.pk} is no longer running.")
        record(
            workspace=job.workspace,
            event_type="export.completed",
            resource_type="export",
            resource_id=job.pk,
            summary="Full data export completed",
            metadata={"job_id": str(job.pk), "rows": rows, "bytes": file_size, "sha256": checksum_sha256},
        )
    job.refresh_from_db()
    observe_export(outcome="completed", started_at=job.started_at, rows=rows)
    return job


def fail_export_job(*, job: ExportJob, message: str) -> bool:
    """Mark a queued/running job failed and record why; False (and nothing changed) for a job already finished."""
    with transaction.atomic():
        failed = ExportJob.objects.filter(pk=job.pk, status__in=ACTIVE_EXPORT_STATUSES).update(
            status=ExportStatus.FAILED, stage="failed", error_message=message, finished_at=timezone.now()
        )
        if failed:
            record(
                workspace=job.workspace,
                event_type="export.failed",
                resource_type="export",
                resource_id=job.pk,
                summary="Full data export failed",
                metadata={"job_id": str(job.pk), "error": message},
            )
    if failed:
        observe_export(outcome="failed", started_at=job.started_at)
    return bool(failed)


def sweep_stalled_exports(*, now: datetime) -> int:
    """Fail running jobs whose worker stopped beating (killed mid-export) and queued jobs no worker
    picked up; remove any partial file. A new export is accepted right after. Returns how many."""
    stalled_running = ExportJob.objects.filter(
        status=ExportStatus.RUNNING, heartbeat_at__lt=now - settings.EXPORT_HEARTBEAT_TIMEOUT
    )
    never_started = ExportJob.objects.filter(
        status=ExportStatus.QUEUED, created_at__lt=now - settings.EXPORT_QUEUED_TIMEOUT
    )
    swept = 0
    for jobs, message in (
        (stalled_running, "The export stopped: its worker stopped responding. Request a new export."),
        (never_started, "The export was never started by a worker. Request a new export."),
    ):
        for job in jobs.select_related("workspace"):
            if fail_export_job(job=job, message=message):
                workspace_storage.delete_file(workspace_storage.export_file_name(job.workspace_id, job.pk))
                swept += 1
    return swept


def expire_export_files(*, now: datetime) -> int:
    """Retention: delete archives past their expiry; their jobs then read `expired`. Returns how many."""
    expired = 0
    for job in ExportJob.objects.filter(status=ExportStatus.COMPLETED, expires_at__lte=now):
        workspace_storage.delete_file(job.file_name)
        expired += ExportJob.objects.filter(pk=job.pk, status=ExportStatus.COMPLETED).update(
            status=ExportStatus.EXPIRED, stage="expired", file_name=""
        )
    return expired


def record_export_download(*, job: ExportJob) -> None:
    """Audit a download through the signed link (S3 downloads happen at S3, unseen)."""
    record(
        workspace=job.workspace,
        event_type="export.downloaded",
        resource_type="export",
        resource_id=job.pk,
        summary="Export archive downloaded",
        metadata={"job_id": str(job.pk)},
    )
