"""Writes of the workspaces app. Each service is one transaction that records its audit event."""

import logging
import secrets
import uuid
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from audit.events import ActorType
from audit.services import purge_workspace_events, record
from billing.selectors import get_default_plan
from centrali.errors import Conflict, InvalidInput, Unavailable
from centrali.tasks import publish
from workspaces import selectors
from workspaces import storage as workspace_storage
from workspaces.models import (
    ExportJob,
    ExportStatus,
    Membership,
    ProvisioningStatus,
    PurgedWorkspace,
    Role,
    ServiceProvisioning,
    User,
    Workspace,
    WorkspaceStatus,
)
from workspaces.provisioning import registered_services
from workspaces.signals import workspace_purging, workspace_restored, workspace_soft_deleted

logger = logging.getLogger(__name__)

SLUG_MAX_LENGTH = 50


def _looks_like_uuid(value):
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _slug_base(name):
    base = slugify(name)[:SLUG_MAX_LENGTH].strip("-") or "workspace"
    # Platform services name workspaces by slug or id: a slug must never read as another's id.
    if base in settings.WORKSPACE_RESERVED_SLUGS or _looks_like_uuid(base):
        base = f"{base}-workspace"
    return base


def _available_slug(name):
    """`acme`, else `acme-2`, `acme-3`, … (the unique constraint still decides under races)."""
    base = _slug_base(name)
    taken = set(Workspace.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    if base not in taken:
        return base
    for n in range(2, 1000):
        candidate = f"{base}-{n}"
        if candidate not in taken:
            return candidate
    return f"{base}-{secrets.token_hex(3)}"


def _assert_identity_free(*, email, username):
    if User.objects.filter(email__iexact=email).exists():
        raise Conflict(
            "A user with this email already exists.",
            code="EMAIL_ALREADY_EXISTS",
            details={"email": ["Already registered."]},
        )
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict(
            "A user with this username already exists.",
            code="USERNAME_ALREADY_EXISTS",
            details={"username": ["Already taken."]},
        )


def create_workspace(*, name, email, username, password=None, description=""):
    """Create the owner account, the workspace on the default plan and the owner membership, atomically."""
    _assert_identity_free(email=email, username=username)
    plan = get_default_plan()
    for _attempt in range(3):
        try:
            with transaction.atomic():
                owner = User.objects.create_user(username=username, email=email.lower(), password=password)
                workspace = Workspace.objects.create(
                    name=name, slug=_available_slug(name), description=description, owner=owner, plan=plan
                )
                Membership.objects.create(workspace=workspace, user=owner, role=Role.OWNER)
                record(
                    workspace=workspace,
                    event_type="workspace.created",
                    resource_type="workspace",
                    resource_id=workspace.pk,
                    summary=f"Workspace '{workspace.name}' created",
                    actor=owner,
                    metadata={"slug": workspace.slug, "plan": plan.code},
                )
                record(
                    workspace=workspace,
                    event_type="member.added",
                    resource_type="membership",
                    resource_id=owner.pk,
                    summary=f"{owner.username} joined as owner",
                    actor=owner,
                    metadata={"user_id": str(owner.pk), "role": Role.OWNER},
                )
                _start_provisioning(workspace)
            return workspace, owner
        except IntegrityError:
            # A concurrent request took the email, username or slug between our checks and the insert.
            _assert_identity_free(email=email, username=username)
    raise Conflict("Could not allocate a unique workspace slug; try another name.", code="SLUG_CONFLICT")


def update_workspace(*, workspace, actor, **changes):
    """Update name and/or description; records the fields that changed, before and after."""
    with transaction.atomic():
        workspace = selectors.lock_workspace(workspace=workspace)
        diff = {
            field: {"before": getattr(workspace, field), "after": value}
            for field, value in changes.items()
            if field in {"name", "description"} and getattr(workspace, field) != value
        }
        if diff:
            for field, change in diff.items():
                setattr(workspace, field, change["after"])
            workspace.save(update_fields=[*diff, "updated_at"])
            record(
                workspace=workspace,
                event_type="workspace.updated",
                resource_type="workspace",
                resource_id=workspace.pk,
                summary=f"Workspace settings updated: {', '.join(sorted(diff))}",
                actor=actor,
                metadata={"changes": diff},
            )
    return workspace


def soft_delete_workspace(*, workspace, actor):
    """Mark the workspace cancelled; it can be restored until the grace period ends."""
    with transaction.atomic():
        workspace = selectors.lock_workspace(workspace=workspace)
        if workspace.is_pending_deletion:
            raise InvalidInput("This workspace is already pending deletion.", code="WORKSPACE_PENDING_DELETION")
        now = timezone.now()
        previous_status = workspace.status
        workspace.status = WorkspaceStatus.CANCELLED
        workspace.deleted_at = now
        workspace.restore_deadline = now + timedelta(days=settings.WORKSPACE_GRACE_PERIOD_DAYS)
        workspace.save(update_fields=["status", "deleted_at", "restore_deadline", "updated_at"])
        record(
            workspace=workspace,
            event_type="workspace.deleted",
            resource_type="workspace",
            resource_id=workspace.pk,
            summary=f"Workspace scheduled for deletion on {workspace.restore_deadline:%Y-%m-%d}",
            actor=actor,
            metadata={
                "status": {"before": previous_status, "after": workspace.status},
                "restore_deadline": workspace.restore_deadline.isoformat(),
            },
        )
        transaction.on_commit(partial(workspace_soft_deleted.send, sender=Workspace, workspace=workspace))
    return workspace


def restore_workspace(*, workspace, actor, actor_type=None):
    """Bring a soft-deleted workspace back to active within its grace period."""
    with transaction.atomic():
        workspace = selectors.lock_workspace(workspace=workspace)
        if not workspace.is_pending_deletion:
            raise InvalidInput("This workspace is not pending deletion.", code="WORKSPACE_NOT_DELETED")
        if timezone.now() > workspace.restore_deadline:
            raise InvalidInput("The restore deadline for this workspace has passed.", code="RESTORE_DEADLINE_PASSED")
        workspace.status = WorkspaceStatus.ACTIVE
        workspace.deleted_at = None
        workspace.restore_deadline = None
        workspace.save(update_fields=["status", "deleted_at", "restore_deadline", "updated_at"])
        record(
            workspace=workspace,
            event_type="workspace.restored",
            resource_type="workspace",
            resource_id=workspace.pk,
            summary="Workspace restored",
            actor=actor,
            actor_type=actor_type,
            metadata={"status": {"before": WorkspaceStatus.CANCELLED, "after": WorkspaceStatus.ACTIVE}},
        )
        transaction.on_commit(partial(workspace_restored.send, sender=Workspace, workspace=workspace))
    return workspace


def suspend_workspace(*, workspace, actor=None, actor_type=ActorType.STAFF, reason=""):
    """Suspend an active workspace (staff action, or billing when an invoice is uncollectible)."""
    return _set_suspension(workspace=workspace, suspended=True, actor=actor, actor_type=actor_type, reason=reason)


def unsuspend_workspace(*, workspace, actor=None, actor_type=ActorType.STAFF, reason=""):
    return _set_suspension(workspace=workspace, suspended=False, actor=actor, actor_type=actor_type, reason=reason)


def _set_suspension(*, workspace, suspended, actor, actor_type, reason):
    before, after = (
        (WorkspaceStatus.ACTIVE, WorkspaceStatus.SUSPENDED)
        if suspended
        else (WorkspaceStatus.SUSPENDED, WorkspaceStatus.ACTIVE)
    )
    with transaction.atomic():
        workspace = selectors.lock_workspace(workspace=workspace)
        if workspace.status != before:
            return workspace  # already there, or pending deletion: nothing to change
        workspace.status = after
        workspace.save(update_fields=["status", "updated_at"])
        record(
            workspace=workspace,
            event_type="workspace.suspended" if suspended else "workspace.unsuspended",
            resource_type="workspace",
            resource_id=workspace.pk,
            summary=("Workspace suspended" if suspended else "Workspace unsuspended")
            + (f": {reason}" if reason else ""),
            actor=actor,
            actor_type=actor_type,
            metadata={"status": {"before": before, "after": after}, "reason": reason},
        )
    return workspace


# --- Provisioning: one Celery task per service, enqueued once the workspace is committed.


def _start_provisioning(workspace):
    """Inside the creating transaction: a pending row per registered service, tasks after commit."""
    services = registered_services()
    ServiceProvisioning.objects.bulk_create(
        [ServiceProvisioning(workspace=workspace, service=service) for service in services]
    )
    transaction.on_commit(partial(enqueue_provisioning, workspace_id=workspace.pk, services=services))


def enqueue_provisioning(*, workspace_id, services):
    """Publish one provisioning task per service. A broker outage must not fail the caller:
    the rows stay pending and sweep_stalled_provisioning enqueues them again later."""

    for service in services:
        publish("workspaces.provision_service", str(workspace_id), service)


def start_provisioning_attempt(*, workspace_id, service):
    """Move the service to `provisioning` and count the attempt; None when there is nothing to do
    (already ready, failed until a manual retry, or the workspace is gone)."""
    with transaction.atomic():
        row = (
            ServiceProvisioning.objects.select_for_update(of=("self",))
            .select_related("workspace", "workspace__plan")
            .filter(workspace_id=workspace_id, service=service)
            .first()
        )
        if row is None or row.status in (ProvisioningStatus.READY, ProvisioningStatus.FAILED):
            return None
        row.status = ProvisioningStatus.PROVISIONING
        row.attempts += 1
        row.save(update_fields=["status", "attempts", "updated_at"])
    return row


def _end_attempt(provisioning, **changes):
    """Record an attempt's outcome, only while the row is still `provisioning` (not purged, not reset)."""
    changes["updated_at"] = timezone.now()
    ServiceProvisioning.objects.filter(pk=provisioning.pk, status=ProvisioningStatus.PROVISIONING).update(**changes)
    for field, value in changes.items():
        setattr(provisioning, field, value)


def mark_service_ready(*, provisioning):
    _end_attempt(provisioning, status=ProvisioningStatus.READY, ready_at=timezone.now(), last_error="")


def mark_service_retrying(*, provisioning, error):
    """A transient failure: stays `provisioning` while the task waits for its next attempt."""
    _end_attempt(provisioning, last_error=error[:2000])


def mark_service_failed(*, provisioning, error):
    _end_attempt(provisioning, status=ProvisioningStatus.FAILED, last_error=error[:2000])


def retry_provisioning(*, workspace, service, actor, actor_type=None):
    """Re-enqueue a failed service with a fresh attempt budget."""
    with transaction.atomic():
        provisioning = (
            ServiceProvisioning.objects.select_for_update().filter(workspace=workspace, service=service).first()
        )
        if provisioning is None:
            raise InvalidInput.for_field("service", f"Unknown service '{service}'.", code="UNKNOWN_SERVICE")
        if provisioning.status != ProvisioningStatus.FAILED:
            raise InvalidInput(
                f"Service '{service}' is {provisioning.status}; only a failed service can be retried.",
                code="SERVICE_NOT_FAILED",
                details={"service": [f"Status is {provisioning.status}, not failed."]},
            )
        previous_attempts, previous_error = provisioning.attempts, provisioning.last_error
        provisioning.status = ProvisioningStatus.PENDING
        provisioning.attempts = 0
        provisioning.save(update_fields=["status", "attempts", "updated_at"])
        record(
            workspace=workspace,
            event_type="provisioning.retried",
            resource_type="provisioning",
            resource_id=service,
            summary=f"Provisioning of '{service}' retried",
            actor=actor,
            metadata={"service": service, "previous_attempts": previous_attempts, "previous_error": previous_error},
            actor_type=actor_type,
        )
        transaction.on_commit(partial(enqueue_provisioning, workspace_id=workspace.pk, services=[service]))
    return provisioning


def sweep_stalled_provisioning(*, now):
    """Re-enqueue services left pending/provisioning too long (lost message, dead worker)."""
    stalled = list(
        ServiceProvisioning.objects.filter(
            status__in=(ProvisioningStatus.PENDING, ProvisioningStatus.PROVISIONING),
            updated_at__lt=now - settings.PROVISIONING_STALLED_AFTER,
        ).values_list("pk", "workspace_id", "service")
    )
    ServiceProvisioning.objects.filter(pk__in=[pk for pk, _, _ in stalled]).update(updated_at=now)
    for _pk, workspace_id, service in stalled:
        enqueue_provisioning(workspace_id=workspace_id, services=[service])
    return len(stalled)


def provision_missing_services(*, workspaces):
    """Add and enqueue the registered services `workspaces` lack (a service added to
    WORKSPACE_PROVISIONERS after they were created); returns {slug: [services added]}."""
    registered = registered_services()
    added = {}
    for workspace in workspaces.filter(status__in=(WorkspaceStatus.ACTIVE, WorkspaceStatus.SUSPENDED)):
        with transaction.atomic():
            present = set(workspace.provisioned_services.values_list("service", flat=True))
            missing = [service for service in registered if service not in present]
            if not missing:
                continue
            ServiceProvisioning.objects.bulk_create(
                [ServiceProvisioning(workspace=workspace, service=service) for service in missing],
                ignore_conflicts=True,  # a concurrent run added them: the unique constraint decides
            )
            transaction.on_commit(partial(enqueue_provisioning, workspace_id=workspace.pk, services=missing))
        added[workspace.slug] = missing
    return added


# --- Exports


class ExportAbandoned(Exception):
    """The job stopped being `running` under the task (the sweeper failed it, or it was purged)."""


def request_export(*, workspace, actor):
    """Queue a full-data export. One queued/running export per workspace (a partial unique index).

    The task is published after commit; if the broker is down the job is failed at once (so it
    never sits in `queued`) and the caller gets 503 QUEUE_UNAVAILABLE.
    """
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
            actor=actor,
            metadata={"job_id": str(job.pk)},
        )
        transaction.on_commit(partial(_publish_export, job=job))
    return job


def _publish_export(*, job):

    if not publish("workspaces.run_export", str(job.pk)):
        fail_export_job(job=job, message="The export could not be queued: the task queue is unavailable.")
        raise Unavailable(
            "The task queue is unavailable; the export was not started. Try again shortly.", code="QUEUE_UNAVAILABLE"
        ) from None


def claim_export_job(*, job_id):
    """queued -> running, once: a redelivered message finds the job no longer queued and stops."""
    now = timezone.now()
    claimed = ExportJob.objects.filter(pk=job_id, status=ExportStatus.QUEUED).update(
        status=ExportStatus.RUNNING, stage="counting", started_at=now, heartbeat_at=now
    )
    if not claimed:
        return None
    return ExportJob.objects.select_related("workspace", "workspace__plan").get(pk=job_id)


def record_export_progress(*, job, stage, rows_done=None, rows_total=None):
    """Progress and heartbeat of a running job; raises ExportAbandoned if it is not running any more."""
    changes = {"stage": stage, "heartbeat_at": timezone.now()}
    if rows_done is not None:
        changes["rows_done"] = rows_done
    if rows_total is not None:
        changes["rows_total"] = rows_total
    if not ExportJob.objects.filter(pk=job.pk, status=ExportStatus.RUNNING).update(**changes):
        raise ExportAbandoned(job.pk)
    for field, value in changes.items():
        setattr(job, field, value)


def complete_export_job(*, job, rows, file_name, file_size, checksum_sha256):
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
            raise ExportAbandoned(job.pk)
        record(
            workspace=job.workspace,
            event_type="export.completed",
            resource_type="export",
            resource_id=job.pk,
            summary="Full data export completed",
            metadata={"job_id": str(job.pk), "rows": rows, "bytes": file_size, "sha256": checksum_sha256},
        )
    job.refresh_from_db()
    return job


def fail_export_job(*, job, message):
    """Mark a queued/running job failed and record why; a job already finished is left as it is."""
    with transaction.atomic():
        failed = ExportJob.objects.filter(pk=job.pk, status__in=(ExportStatus.QUEUED, ExportStatus.RUNNING)).update(
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
    return bool(failed)


def sweep_stalled_exports(*, now):
    """Fail running jobs whose worker stopped beating (killed mid-export) and queued jobs no worker
    picked up; remove any partial file. A new export is accepted right after."""
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


def expire_export_files(*, now):
    """Retention: delete archives past their expiry; their jobs then read `expired`."""
    expired = 0
    for job in ExportJob.objects.filter(status=ExportStatus.COMPLETED, expires_at__lte=now):
        workspace_storage.delete_file(job.file_name)
        expired += ExportJob.objects.filter(pk=job.pk, status=ExportStatus.COMPLETED).update(
            status=ExportStatus.EXPIRED, stage="expired", file_name=""
        )
    return expired


def record_export_download(*, job):
    record(
        workspace=job.workspace,
        event_type="export.downloaded",
        resource_type="export",
        resource_id=job.pk,
        summary="Export archive downloaded",
        metadata={"job_id": str(job.pk)},
    )


# --- Purge: hard delete after the grace period, keeping a tombstone.


class NotDueForPurge(Exception):
    pass


def purge_workspace(*, workspace, now):
    """Hard-delete a cancelled workspace whose restore deadline has passed; returns its tombstone.

    Files go first (deleting them again is harmless if the transaction then fails); then, in one
    transaction: the workspace_purging signal (billing cancels its Stripe records), the audit
    events, the tombstone, and the workspace with everything that cascades from it.
    """
    if not _is_due_for_purge(workspace, now):
        raise NotDueForPurge(workspace.slug)
    files_deleted = workspace_storage.delete_area(workspace.pk)
    with transaction.atomic():
        workspace = Workspace.objects.select_for_update().select_related("owner").get(pk=workspace.pk)
        if not _is_due_for_purge(workspace, now):
            raise NotDueForPurge(workspace.slug)
        counts = {
            "members": workspace.memberships.count(),
            "export_jobs": workspace.export_jobs.count(),
            "provisioned_services": workspace.provisioned_services.count(),
            "export_files": files_deleted,
        }
        workspace_purging.send(sender=Workspace, workspace=workspace)
        counts["audit_events"] = purge_workspace_events(workspace=workspace)
        tombstone = PurgedWorkspace.objects.create(
            workspace_id=workspace.pk,
            slug=workspace.slug,
            name=workspace.name,
            owner_email=workspace.owner.email,
            deleted_at=workspace.deleted_at,
            restore_deadline=workspace.restore_deadline,
            purged_at=timezone.now(),
            counts=counts,
        )
        workspace.delete()
    return tombstone


def _is_due_for_purge(workspace, now):
    return workspace.status == WorkspaceStatus.CANCELLED and workspace.restore_deadline < now


def purge_due_workspaces(*, now, batch_size, on_purged=None, on_error=None):
    """Purge every workspace due at `now`, `batch_size` at a time; returns (purged, failed) counts.
    A workspace that fails is reported through on_error and skipped, never retried in this run."""
    from workspaces.selectors import workspaces_due_for_purge

    failed_ids = set()
    purged = 0
    while batch := list(workspaces_due_for_purge(now=now).exclude(pk__in=failed_ids)[:batch_size]):
        for workspace in batch:
            try:
                tombstone = purge_workspace(workspace=workspace, now=now)
            except Exception as exc:
                logger.exception("purge of workspace %s failed", workspace.slug)
                failed_ids.add(workspace.pk)
                if on_error:
                    on_error(workspace, exc)
                continue
            purged += 1
            if on_purged:
                on_purged(tombstone)
    return purged, len(failed_ids)
