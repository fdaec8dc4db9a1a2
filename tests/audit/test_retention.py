"""Audit retention per plan: the nightly task drops a workspace's events older than its plan keeps
them and leaves a signed checkpoint, so what remains still verifies; exports say since when the
log is complete."""

import io
import json
import uuid
import zipfile
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from audit.models import AuditCheckpoint, AuditEvent
from audit.selectors import log_complete_from, verify_chain
from audit.services import apply_audit_retention, purge_workspace_events
from audit.tasks import apply_audit_retention as retention_task
from billing.models import Plan
from centrali.celery import app as celery_app
from centrali.exports import export_sections
from centrali.formats import iso_utc
from tests.audit.helpers import add_event
from tests.command_helpers import run_command
from tests.factories import WorkspaceFactory
from tests.helpers import API
from workspaces.exporter import MANIFEST_NAME, write_archive

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def _days_ago(workspace, days, **overrides):
    return add_event(workspace, occurred_at=NOW - timedelta(days=days), **overrides)


def _on_plan(code):
    return WorkspaceFactory(plan=Plan.objects.get(code=code))


def _remaining(workspace):
    return list(AuditEvent.objects.filter(workspace=workspace).order_by("id").values_list("pk", flat=True))


def test_the_catalogue_keeps_free_logs_90_days_paid_a_year_enterprise_seven_years():
    retention = dict(Plan.objects.values_list("code", "audit_retention_days"))

    assert retention == {"free": 90, "starter": 365, "pro": 365, "enterprise": 7 * 365}


def test_a_free_workspace_loses_exactly_its_events_older_than_90_days(workspace, other_workspace):
    old = [_days_ago(workspace, 200), _days_ago(workspace, 91)]
    kept = [_days_ago(workspace, 89), add_event(workspace)]
    others_kept = [_days_ago(other_workspace, 30)]

    dropped = apply_audit_retention(now=NOW)

    assert dropped == {str(workspace.pk): len(old)}
    assert _remaining(workspace) == [event.pk for event in kept]
    assert _remaining(other_workspace) == [event.pk for event in others_kept]


def test_paid_and_enterprise_workspaces_keep_what_their_plan_keeps():
    pro, enterprise = _on_plan("pro"), _on_plan("enterprise")
    _days_ago(pro, 400)
    pro_kept = _days_ago(pro, 300)
    enterprise_kept = [_days_ago(enterprise, 3 * 365), _days_ago(enterprise, 400)]

    dropped = apply_audit_retention(now=NOW)

    assert dropped == {str(pro.pk): 1}
    assert _remaining(pro) == [pro_kept.pk]
    assert _remaining(enterprise) == [event.pk for event in enterprise_kept]


def test_only_the_oldest_events_of_the_chain_go_even_if_a_later_one_is_older(workspace):
    first = _days_ago(workspace, 120)
    newer = _days_ago(workspace, 10)
    backdated = _days_ago(workspace, 300)  # reported late by a platform service

    apply_audit_retention(now=NOW)

    assert first.pk not in _remaining(workspace)
    assert _remaining(workspace) == [newer.pk, backdated.pk]


def test_a_plan_without_retention_keeps_everything(workspace):
    Plan.objects.filter(code="free").update(audit_retention_days=None)
    ancient = _days_ago(workspace, 5000)

    assert apply_audit_retention(now=NOW) == {}
    assert _remaining(workspace) == [ancient.pk]


def test_the_remaining_chain_verifies_from_the_signed_checkpoint(workspace):
    old = [_days_ago(workspace, 100 + n) for n in range(3)]
    _days_ago(workspace, 1)

    apply_audit_retention(now=NOW)

    checkpoint = AuditCheckpoint.objects.get(workspace=workspace)
    assert (checkpoint.head_hash, checkpoint.events_dropped) == (old[-1].entry_hash, 3)
    assert checkpoint.complete_from == NOW - timedelta(days=90)
    assert verify_chain(workspace_id=workspace.pk) is None
    assert run_command("verify_audit_chain").status == 0


def test_successive_cuts_and_batches_each_leave_a_checkpoint_that_verifies(workspace, settings):
    settings.AUDIT_RETENTION_BATCH_SIZE = 2
    for days in (130, 120, 110, 100):
        _days_ago(workspace, days)
    _days_ago(workspace, 60)

    apply_audit_retention(now=NOW)
    apply_audit_retention(now=NOW + timedelta(days=40))

    assert list(
        AuditCheckpoint.objects.filter(workspace=workspace).order_by("id").values_list("events_dropped", flat=True)
    ) == [
        2,
        4,
        5,
    ]
    assert _remaining(workspace) == []
    assert verify_chain(workspace_id=workspace.pk) is None


def test_appends_after_a_cut_extend_the_verified_chain(workspace):
    _days_ago(workspace, 100)
    apply_audit_retention(now=NOW)

    add_event(workspace)

    assert verify_chain(workspace_id=workspace.pk) is None


@pytest.fixture
def cut(workspace):
    _days_ago(workspace, 100)
    _days_ago(workspace, 95)
    _days_ago(workspace, 5)
    apply_audit_retention(now=NOW)
    return AuditCheckpoint.objects.get(workspace=workspace)


@pytest.mark.parametrize(
    "forgery",
    [
        {"events_dropped": 1},
        {"head_hash": "0" * 64},
        {"complete_from": NOW - timedelta(days=400)},
        {"signature": "0" * 64},
    ],
)
def test_a_forged_checkpoint_fails_verification(cut, workspace, forgery):
    AuditCheckpoint.objects.filter(pk=cut.pk).update(**forgery)

    chain_break = verify_chain(workspace_id=workspace.pk)

    assert chain_break is not None and chain_break.event_id is None
    assert chain_break.reason == "the retention checkpoint's signature is invalid: it was forged or altered"


def test_a_removed_checkpoint_fails_verification(cut, workspace):
    AuditCheckpoint.objects.filter(pk=cut.pk).delete()

    chain_break = verify_chain(workspace_id=workspace.pk)

    assert chain_break is not None and "previous_hash does not match" in chain_break.reason


def test_events_removed_after_the_checkpoint_still_fail_verification(cut, workspace):
    AuditEvent.objects.filter(workspace=workspace).delete()

    chain_break = verify_chain(workspace_id=workspace.pk)

    assert chain_break is not None and "newest events were removed" in chain_break.reason


def test_purging_the_workspace_removes_its_checkpoints(cut, workspace):
    purge_workspace_events(workspace=workspace)

    assert not AuditCheckpoint.objects.filter(workspace=workspace).exists()


def test_the_nightly_task_is_scheduled_and_counts_what_it_dropped(workspace):
    _days_ago(workspace, 100)
    entry = settings.CELERY_BEAT_SCHEDULE["audit.apply-audit-retention"]

    assert entry["task"] == "audit.apply_audit_retention" in celery_app.tasks
    assert retention_task() == 1


# --- since when the log is complete


def test_a_log_never_cut_is_complete_since_the_workspace_was_created(workspace):
    assert log_complete_from(workspace=workspace) == workspace.created_at


def test_the_workspace_export_manifest_says_since_when_the_log_is_complete(cut, workspace):
    archive_file = io.BytesIO()

    write_archive(
        workspace=workspace,
        job_id=uuid.uuid4(),
        sections=export_sections(),
        fileobj=archive_file,
        batch_size=100,
        on_batch=lambda section, rows: None,
    )

    manifest = json.loads(zipfile.ZipFile(archive_file).read(MANIFEST_NAME))
    assert manifest["auditLogCompleteFrom"] == iso_utc(cut.complete_from)


def test_the_csv_export_says_since_when_the_log_is_complete_in_a_header(cut, workspace, owner_client):
    response = owner_client.get(f"{API}/{workspace.slug}/audit/export")

    assert response.status_code == 200
    assert response["X-Audit-Log-Complete-From"] == iso_utc(cut.complete_from)
    assert response.getvalue().decode().startswith("id,created_at,")
