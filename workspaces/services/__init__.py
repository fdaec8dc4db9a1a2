"""Writes of the workspaces app. Each service is one transaction that records its audit event;
side effects (signals, tasks) happen after commit.

- lifecycle: sign-up, settings, soft delete and restore, suspension
- provisioning: the platform services set up for each workspace, retries and the sweeper
- exports: the full-data export job, from request to retention
- purge: the hard delete after the grace period
- erasure: erasing a person's account (on request, or when a purge leaves it in no workspace)

Callers use this package (`from workspaces import services`); the modules are how it is organised.
Tasks are published by name (centrali.tasks): no module here imports workspaces.tasks or the exporter.
"""

from workspaces.services.erasure import (
    ERASED_NAME,
    PersonOwnsWorkspace,
    accounts_left_without_membership,
    discard_export_archives,
    erase_account,
    owned_workspace_slugs,
    refuse_if_owner,
)
from workspaces.services.exports import (
    ExportAbandoned,
    claim_export_job,
    complete_export_job,
    expire_export_files,
    fail_export_job,
    record_export_download,
    record_export_progress,
    request_export,
    sweep_stalled_exports,
)
from workspaces.services.lifecycle import (
    create_workspace,
    extend_restore_deadline,
    restore_workspace,
    soft_delete_workspace,
    suspend_workspace,
    suspend_workspace_by_staff,
    unsuspend_workspace,
    unsuspend_workspace_by_staff,
    update_workspace,
)
from workspaces.services.provisioning import (
    mark_service_failed,
    mark_service_ready,
    mark_service_retrying,
    provision_missing_services,
    retry_provisioning,
    start_provisioning_attempt,
    sweep_stalled_provisioning,
)
from workspaces.services.purge import NotDueForPurge, purge_due_workspaces, purge_workspace

__all__ = [
    "ERASED_NAME",
    "ExportAbandoned",
    "NotDueForPurge",
    "PersonOwnsWorkspace",
    "accounts_left_without_membership",
    "claim_export_job",
    "complete_export_job",
    "create_workspace",
    "discard_export_archives",
    "erase_account",
    "expire_export_files",
    "extend_restore_deadline",
    "fail_export_job",
    "mark_service_failed",
    "mark_service_ready",
    "mark_service_retrying",
    "owned_workspace_slugs",
    "provision_missing_services",
    "purge_due_workspaces",
    "purge_workspace",
    "record_export_download",
    "record_export_progress",
    "refuse_if_owner",
    "request_export",
    "restore_workspace",
    "retry_provisioning",
    "soft_delete_workspace",
    "start_provisioning_attempt",
    "suspend_workspace",
    "suspend_workspace_by_staff",
    "sweep_stalled_exports",
    "sweep_stalled_provisioning",
    "unsuspend_workspace",
    "unsuspend_workspace_by_staff",
    "update_workspace",
]
