"""Staff views of provisioning, export jobs and purge tombstones."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from centrali.personal_data import email_hash, slug_hash
from tests.factories import UserFactory, WorkspaceFactory
from workspaces.models import ExportJob, PurgedWorkspace, ServiceProvisioning

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory.create(is_staff=True, is_superuser=True))
    return client


def test_workspace_page_shows_its_provisioning(staff_client, workspace):
    ServiceProvisioning.objects.create(workspace=workspace, service="compute", status="failed", last_error="HTTP 503")

    html = staff_client.get(f"/admin/workspaces/workspace/{workspace.pk}/change/").content.decode()

    assert "compute" in html and "HTTP 503" in html


def test_staff_retry_a_failed_service(staff_client, workspace, django_capture_on_commit_callbacks):
    failed = ServiceProvisioning.objects.create(workspace=workspace, service="storage", status="failed", attempts=6)

    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(
            "/admin/workspaces/serviceprovisioning/",
            {"action": "retry", "_selected_action": [failed.pk], "apply": "1", "reason": "Upstream fixed"},
        )

    failed.refresh_from_db()
    assert failed.status == "ready"  # the storage provisioner ran (eagerly) after the retry
    assert AuditEvent.objects.get(workspace=workspace, type="provisioning.retried").actor_type == "staff"


def test_retry_of_a_service_that_has_not_failed_reports_an_error(staff_client, workspace):
    ready = ServiceProvisioning.objects.create(
        workspace=workspace, service="storage", status="ready", ready_at=timezone.now()
    )

    response = staff_client.post(
        "/admin/workspaces/serviceprovisioning/",
        {"action": "retry", "_selected_action": [ready.pk], "apply": "1", "reason": "Try again"},
        follow=True,
    )

    assert "only a failed service can be retried" in response.content.decode()


def test_export_jobs_are_listed_and_filterable_by_status(staff_client):
    failed = ExportJob.objects.create(workspace=WorkspaceFactory.create(slug="has-failed"), status="failed")
    ExportJob.objects.create(workspace=WorkspaceFactory.create(slug="is-queued"))

    html = staff_client.get("/admin/workspaces/exportjob/", {"status__exact": "failed"}).content.decode()

    assert str(failed.pk) in html and "is-queued" not in html


def test_tombstones_are_found_by_the_owners_email_and_read_only(staff_client):
    tombstone = PurgedWorkspace.objects.create(
        workspace_id="7a1d5bb8-5a4f-4a43-9b0c-0b0f8a3b8f10",
        owner_email_hash=email_hash("ada@gone.test"),
        slug_hash=slug_hash("gone-corp"),
        purged_at=timezone.now(),
    )
    PurgedWorkspace.objects.create(
        workspace_id="11111111-2222-4333-8444-555555555555",
        owner_email_hash=email_hash("bob@other.test"),
        purged_at=timezone.now(),
    )

    by_email = staff_client.get("/admin/workspaces/purgedworkspace/", {"q": " Ada@Gone.test"}).content.decode()
    by_slug = staff_client.get("/admin/workspaces/purgedworkspace/", {"q": "gone-corp"}).content.decode()
    change = staff_client.get(f"/admin/workspaces/purgedworkspace/{tombstone.pk}/change/")

    assert "7a1d5bb8-5a4f-4a43-9b0c-0b0f8a3b8f10" in by_email and "11111111-2222" not in by_email
    assert "7a1d5bb8-5a4f-4a43-9b0c-0b0f8a3b8f10" in by_slug and "11111111-2222" not in by_slug
    assert change.status_code == 200 and 'name="_save"' not in change.content.decode()


def test_staff_re_run_a_failed_export_with_a_reason(staff_client, workspace):
    failed = ExportJob.objects.create(workspace=workspace, status="failed", error_message="disk full")
    ExportJob.objects.create(workspace=WorkspaceFactory.create(slug="is-queued"))  # not failed: left alone

    form = staff_client.post("/admin/workspaces/exportjob/", {"action": "rerun", "_selected_action": [failed.pk]})
    assert form.status_code == 200 and b'name="reason"' in form.content
    staff_client.post(
        "/admin/workspaces/exportjob/",
        {"action": "rerun", "_selected_action": [failed.pk], "apply": "1", "reason": "Disk replaced"},
    )

    rerun = ExportJob.objects.filter(workspace=workspace).exclude(pk=failed.pk).get()
    assert rerun.status != "failed"
    assert AuditEvent.objects.get(workspace=workspace, type="export.requested").actor_type == "staff"


def test_stuck_exports_filter(staff_client):
    stale = timezone.now() - timedelta(hours=2)
    stuck = ExportJob.objects.create(
        workspace=WorkspaceFactory.create(slug="stuck-one"), status="running", heartbeat_at=stale
    )
    ExportJob.objects.create(
        workspace=WorkspaceFactory.create(slug="alive-one"), status="running", heartbeat_at=timezone.now()
    )

    html = staff_client.get("/admin/workspaces/exportjob/", {"state": "stuck"}).content.decode()

    assert str(stuck.pk) in html and "alive-one" not in html
