"""Celery tasks of the workspaces app. Each is a thin shell over services / the exporter; each runs
as the system (centrali.celery.ContextTask), so what it records is audited as such."""

from __future__ import annotations

import random
from typing import Any

import structlog
from celery import Task, shared_task
from django.conf import settings
from django.utils import timezone

from workspaces import exporter, services
from workspaces.provisioning import ProvisioningError, TransientProvisioningError, provisioner_for

logger = structlog.get_logger(__name__)


def retry_delay(attempt: int) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(max, base * 2**(attempt-1))] seconds."""
    ceiling = min(
        settings.PROVISIONING_RETRY_BACKOFF_MAX_SECONDS,
        settings.PROVISIONING_RETRY_BACKOFF_SECONDS * 2 ** max(0, attempt - 1),
    )
    return random.uniform(0, ceiling)  # noqa: S311 -- jitter, not a secret


@shared_task(bind=True, name="workspaces.provision_service", max_retries=None)
def provision_service(self: Task, workspace_id: str, service: str) -> Any:
    provisioning = services.start_provisioning_attempt(workspace_id=workspace_id, service=service)
    if provisioning is None:
        return None
    try:
        provisioner = provisioner_for(service)
        provisioner.provision(provisioning.workspace)
    except TransientProvisioningError as exc:
        if provisioning.attempts >= settings.PROVISIONING_MAX_ATTEMPTS:
            services.mark_service_failed(
                provisioning=provisioning, error=f"Gave up after {provisioning.attempts} attempts: {exc}"
            )
            return provisioning.status
        services.mark_service_retrying(provisioning=provisioning, error=str(exc))
        # throw=False: publish the retry and end this run normally; eager runs (tests) then apply the
        # retry in-process even though eager exceptions propagate.
        return self.retry(countdown=retry_delay(provisioning.attempts), exc=exc, throw=False)
    except KeyError:
        services.mark_service_failed(provisioning=provisioning, error=f"Service '{service}' is not configured.")
    except ProvisioningError as exc:
        services.mark_service_failed(provisioning=provisioning, error=str(exc))
    except Exception as exc:
        logger.exception("provisioning_crashed", service=service, workspace_id=workspace_id)
        services.mark_service_failed(provisioning=provisioning, error=f"Unexpected error: {exc.__class__.__name__}")
    else:
        services.mark_service_ready(provisioning=provisioning)
    return provisioning.status


@shared_task(name="workspaces.run_export")
def run_export(job_id: str) -> str | None:
    job_pk = exporter.run_export_job(job_id)
    return str(job_pk) if job_pk else None


@shared_task(name="workspaces.sweep_stalled_work")
def sweep_stalled_work() -> dict[str, int]:
    """Beat, every minute: fail exports whose worker died, re-enqueue provisioning that stalled."""
    now = timezone.now()
    return {
        "exports_failed": services.sweep_stalled_exports(now=now),
        "provisioning_requeued": services.sweep_stalled_provisioning(now=now),
    }


@shared_task(name="workspaces.expire_export_files")
def expire_export_files() -> int:
    """Beat, hourly: delete export archives past their retention."""
    return services.expire_export_files(now=timezone.now())


@shared_task(name="workspaces.purge_deleted_workspaces")
def purge_deleted_workspaces() -> dict[str, int]:
    """Beat, daily: hard-delete workspaces whose grace period is over."""
    purged, failed = services.purge_due_workspaces(now=timezone.now(), batch_size=settings.PURGE_BATCH_SIZE)
    return {"purged": purged, "failed": failed}
