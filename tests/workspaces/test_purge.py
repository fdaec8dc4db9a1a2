"""Purge: hard delete after the grace period, with tombstones, files removed and billing told."""

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from freezegun import freeze_time

from audit.models import AuditEvent
from audit.services import record
from centrali.personal_data import email_hash, slug_hash
from tests.command_helpers import run_command
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory
from workspaces import services, tasks
from workspaces.models import ExportJob, Membership, PurgedWorkspace, ServiceProvisioning, User, Workspace
from workspaces.signals import workspace_purging

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def cancelled(*, deadline_days_ago, **kwargs):
    """A workspace soft-deleted so that its restore deadline was `deadline_days_ago` days before NOW."""
    deadline = NOW - timedelta(days=deadline_days_ago)
    return WorkspaceFactory.create(
        status="cancelled", deleted_at=deadline - timedelta(days=30), restore_deadline=deadline, **kwargs
    )


def purge(*args, status=0, terminal=False):
    done = run_command("purge_deleted_workspaces", "--now", NOW.isoformat(), *args, terminal=terminal)
    assert done.status == status, done
    return done.out, done.err


@pytest.fixture
def due(workspace_files):
    """A workspace past its deadline with members, an export file, provisioning rows and audit events."""
    workspace = cancelled(deadline_days_ago=1)
    MembershipFactory.create(workspace=workspace)
    job = ExportJob.objects.create(
        workspace=workspace,
        status="completed",
        file_name=f"workspaces/{workspace.pk}/exports/x.zip",
        expires_at=NOW + timedelta(days=1),
    )
    workspace_files.save(job.file_name, io.BytesIO(b"PK archive"))
    workspace_files.save(f"workspaces/{workspace.pk}/.area", io.BytesIO(b""))
    ServiceProvisioning.objects.create(workspace=workspace, service="storage")
    record(
        workspace=workspace,
        event_type="workspace.deleted",
        resource_type="workspace",
        resource_id=workspace.pk,
        summary="deleted",
    )
    return workspace


def test_purges_a_workspace_past_its_restore_deadline(due):
    purge()

    assert not Workspace.objects.filter(pk=due.pk).exists()
    assert not Membership.objects.filter(workspace_id=due.pk).exists()
    assert not ExportJob.objects.filter(workspace_id=due.pk).exists()
    assert not ServiceProvisioning.objects.filter(workspace_id=due.pk).exists()
    assert not AuditEvent.objects.filter(workspace_id=due.pk).exists()


def test_keeps_a_tombstone_with_what_was_deleted(due):
    purge()

    tombstone = PurgedWorkspace.objects.get(workspace_id=due.pk)
    assert tombstone.restore_deadline == due.restore_deadline
    assert tombstone.counts == {
        "members": 2,
        "export_jobs": 1,
        "provisioned_services": 1,
        "export_files": 2,
        "audit_events": 1,
        "accounts_erased": 2,
    }


def test_the_tombstone_keeps_keyed_hashes_never_the_email_or_slug(due):
    owner_email = due.owner.email

    purge()

    tombstone = PurgedWorkspace.objects.get(workspace_id=due.pk)
    assert tombstone.owner_email_hash == email_hash(f"  {owner_email.upper()} ")
    assert tombstone.slug_hash == slug_hash(due.slug)
    assert owner_email not in tombstone.owner_email_hash and due.slug not in str(tombstone.counts)


def test_the_hash_depends_on_the_privacy_key(settings):
    before = email_hash("ada@acme.test")
    settings.PRIVACY_HASH_KEY = "another-key"

    assert email_hash("ada@acme.test") != before


def test_erases_the_accounts_the_purge_leaves_in_no_workspace(due):
    member = Membership.objects.filter(workspace=due).exclude(user=due.owner).get().user

    purge()

    assert not User.objects.filter(pk__in=[due.owner_id, member.pk]).exists()


def test_keeps_accounts_that_still_belong_to_another_workspace_and_staff(due):
    elsewhere = Membership.objects.filter(workspace=due).exclude(user=due.owner).get().user
    MembershipFactory.create(user=elsewhere)
    staff = UserFactory.create(is_staff=True)
    MembershipFactory.create(workspace=due, user=staff)

    purge()

    assert set(User.objects.filter(pk__in=[elsewhere.pk, staff.pk, due.owner_id]).values_list("pk", flat=True)) == {
        elsewhere.pk,
        staff.pk,
    }


def test_the_owner_of_another_workspace_keeps_the_account():
    owner = UserFactory.create()
    WorkspaceFactory.create(owner=owner)
    due_owned = cancelled(deadline_days_ago=1, owner=owner)

    purge()

    assert not Workspace.objects.filter(pk=due_owned.pk).exists()
    assert User.objects.filter(pk=owner.pk).exists()


def test_deletes_the_workspaces_files(due, workspace_files):
    purge()

    assert not workspace_files.exists(f"workspaces/{due.pk}")


def test_never_touches_a_workspace_inside_its_grace_period(due, workspace_files):
    within = cancelled(deadline_days_ago=-1)  # deadline tomorrow
    active = WorkspaceFactory.create()
    workspace_files.save(f"workspaces/{within.pk}/.area", io.BytesIO(b""))

    purge()

    assert set(Workspace.objects.values_list("pk", flat=True)) == {within.pk, active.pk}
    assert workspace_files.exists(f"workspaces/{within.pk}/.area")
    assert not PurgedWorkspace.objects.filter(workspace_id__in=[within.pk, active.pk]).exists()


def test_the_service_refuses_a_workspace_not_yet_due():
    within = cancelled(deadline_days_ago=-1)

    with pytest.raises(services.NotDueForPurge):
        services.purge_workspace(workspace=within, now=NOW)

    assert Workspace.objects.filter(pk=within.pk).exists()


def test_dry_run_lists_deletes_nothing_and_exits_2(due, workspace_files):
    out, _ = purge("--dry-run", status=2)

    assert f"would purge {due.slug} ({due.pk}), restore deadline {due.restore_deadline:%Y-%m-%dT%H:%M:%SZ}" in out
    assert "1 workspace(s) would be purged" in out
    assert Workspace.objects.filter(pk=due.pk).exists()
    assert workspace_files.exists(f"workspaces/{due.pk}/.area")
    assert not PurgedWorkspace.objects.exists()


def test_a_dry_run_with_nothing_due_exits_0():
    cancelled(deadline_days_ago=-1)

    out, _ = purge("--dry-run", status=0)

    assert "0 workspace(s) would be purged" in out


def test_the_json_summary_of_a_dry_run_lists_what_is_due(due):
    done = run_command("purge_deleted_workspaces", "--now", NOW.isoformat(), "--dry-run", "--json")

    assert done.status == 2
    assert done.summary == {
        "command": "purge_deleted_workspaces",
        "dry_run": True,
        "exit_status": 2,
        "now": "2026-06-01T12:00:00Z",
        "due": [{"workspace": due.slug, "id": str(due.pk), "restore_deadline": "2026-05-31T12:00:00Z"}],
    }


def test_the_json_summary_of_a_purge_lists_what_went(due):
    summary = run_command("purge_deleted_workspaces", "--now", NOW.isoformat(), "--json").summary

    assert (summary["exit_status"], summary["failed"]) == (0, [])
    assert summary["purged"] == [{"workspace": due.slug, "id": str(due.pk)}]


def test_now_decides_what_is_due():
    later = cancelled(deadline_days_ago=-10)

    call_command(
        "purge_deleted_workspaces",
        "--now",
        (NOW + timedelta(days=11)).isoformat(),
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )

    assert not Workspace.objects.filter(pk=later.pk).exists()


def test_purges_in_batches_until_none_is_left():
    workspaces = [cancelled(deadline_days_ago=days) for days in (1, 2, 3, 4, 5)]

    out, _ = purge("--batch-size", "2")

    assert not Workspace.objects.filter(pk__in=[w.pk for w in workspaces]).exists()
    assert PurgedWorkspace.objects.count() == 5
    assert "Purged 5 workspace(s)." in out


def test_shows_a_progress_bar_on_a_terminal(due):
    _, err = purge(terminal=True)

    assert "purging" in err and "1/1" in err


def test_no_progress_bar_when_asked_or_not_on_a_terminal(due):
    other_due = cancelled(deadline_days_ago=2)

    assert purge("--no-progress", terminal=True)[1] == ""
    assert not Workspace.objects.filter(pk__in=[due.pk, other_due.pk]).exists()
    assert purge()[1] == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--now", "tomorrow"],
            "Error: argument --now: expected an ISO 8601 date-time, e.g. 2026-05-01T00:00:00Z; got 'tomorrow'",
        ),
        (["--batch-size", "0"], "Error: argument --batch-size: expected a whole number of at least 1; got '0'"),
        (["--batch-size", "many"], "Error: argument --batch-size: expected a whole number of at least 1; got 'many'"),
        (["--bogus"], "Error: unrecognized arguments: --bogus"),
    ],
)
def test_a_malformed_argument_is_a_one_line_error(args, message):
    with pytest.raises(CommandError) as refused:
        call_command("purge_deleted_workspaces", *args)

    assert str(refused.value) == message


def test_billing_is_told_inside_the_purge_transaction(due):
    seen = []

    def receiver(sender, workspace, **kwargs):
        seen.append((workspace.pk, Workspace.objects.filter(pk=workspace.pk).exists()))

    workspace_purging.connect(receiver)
    try:
        purge()
    finally:
        workspace_purging.disconnect(receiver)

    assert seen == [(due.pk, True)]  # sent before the rows go


def test_a_receiver_that_raises_aborts_that_purge_only(due):
    other_due = cancelled(deadline_days_ago=2)

    def refuse(sender, workspace, **kwargs):
        if workspace.pk == due.pk:
            raise RuntimeError("Stripe said no")

    workspace_purging.connect(refuse)
    err = io.StringIO()
    try:
        with pytest.raises(CommandError, match="1 workspace"):
            call_command("purge_deleted_workspaces", "--now", NOW.isoformat(), stdout=io.StringIO(), stderr=err)
    finally:
        workspace_purging.disconnect(refuse)

    assert f"FAILED {due.slug}: RuntimeError: Stripe said no" in err.getvalue()

    assert Workspace.objects.filter(pk=due.pk).exists()
    assert not PurgedWorkspace.objects.filter(workspace_id=due.pk).exists()
    assert AuditEvent.objects.filter(workspace_id=due.pk).exists()  # rolled back with the rest
    assert not Workspace.objects.filter(pk=other_due.pk).exists()


def test_beat_task_purges_what_is_due(due):
    with freeze_time(NOW):
        result = tasks.purge_deleted_workspaces.apply().get()

    assert result == {"purged": 1, "failed": 0}
    assert PurgedWorkspace.objects.filter(workspace_id=due.pk).exists()
