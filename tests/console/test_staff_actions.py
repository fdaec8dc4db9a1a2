"""Staff actions from the customer page: each asks for a reason, goes through the service, and is
audited as staff with that reason."""

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from billing import services as billing_services
from billing.models import BillingSuspension
from tests.factories import WorkspaceFactory
from tests.helpers import API, assert_error, client_for
from workspaces import services
from workspaces.models import ExportJob, ServiceProvisioning

pytestmark = pytest.mark.django_db


def _action(workspace, name):
    return reverse("admin:workspaces_workspace_staff_action", args=[workspace.pk, name])


@pytest.fixture
def root(admin_client_for, superuser):
    return admin_client_for(superuser)


def _staff_event(workspace, event_type, superuser):
    event = AuditEvent.objects.filter(workspace=workspace, type=event_type).latest("id")
    assert (event.actor_type, event.actor_id) == ("staff", str(superuser.pk))
    return event


def test_a_staff_suspension_tells_the_customer_its_reason(root, superuser, workspace):
    form = root.get(_action(workspace, "suspend"))
    assert form.status_code == 200 and b'id="id_reason"' in form.content

    response = root.post(_action(workspace, "suspend"), {"reason": "Abuse report #42 under review"})

    assert response.status_code == 302
    event = _staff_event(workspace, "workspace.suspended", superuser)
    assert event.summary == "Workspace suspended: Abuse report #42 under review"
    answer = client_for(workspace.owner).put(f"{API}/{workspace.slug}", {"name": "New"}, format="json")
    body = assert_error(answer, status=403, code="WORKSPACE_SUSPENDED")
    assert body["message"] == "This workspace is suspended by Centrali staff: Abuse report #42 under review"


def test_a_billing_suspension_keeps_its_own_message(workspace):
    services.suspend_workspace(workspace=workspace, reason="invoice in_1 is uncollectible")

    answer = client_for(workspace.owner).put(f"{API}/{workspace.slug}", {"name": "New"}, format="json")

    body = assert_error(answer, status=403, code="WORKSPACE_SUSPENDED")
    assert body["message"] == "This workspace is suspended; settle billing or contact support to reactivate it."


def test_paying_an_invoice_does_not_lift_a_staff_suspension(workspace):
    services.suspend_workspace(workspace=workspace, reason="invoice in_1 is uncollectible")
    BillingSuspension.objects.create(workspace=workspace, stripe_invoice_id="in_1")
    services.suspend_workspace_by_staff(workspace=workspace, reason="Fraud check")

    billing_services.lift_suspension_for_paid_invoice(workspace=workspace, invoice_id="in_1")

    workspace.refresh_from_db()
    assert (workspace.status, workspace.suspension_reason) == ("suspended", "Fraud check")


def test_unsuspend_needs_a_reason_and_clears_the_staff_reason(root, superuser, workspace):
    services.suspend_workspace_by_staff(workspace=workspace, reason="Fraud check")

    refused = root.post(_action(workspace, "unsuspend"), {"reason": ""})
    assert refused.status_code == 200 and b"This field is required" in refused.content
    root.post(_action(workspace, "unsuspend"), {"reason": "Identity confirmed"})

    workspace.refresh_from_db()
    assert (workspace.status, workspace.suspension_reason) == ("active", "")
    assert _staff_event(workspace, "workspace.unsuspended", superuser).summary == (
        "Workspace unsuspended: Identity confirmed"
    )


def test_extend_a_deletion_grace_period(root, superuser):
    leaving = WorkspaceFactory.create(pending_deletion=True)
    before = leaving.restore_deadline

    root.post(_action(leaving, "extend-grace"), {"days": "14", "reason": "Customer asked for time to export"})

    leaving.refresh_from_db()
    assert leaving.restore_deadline is not None and before is not None
    assert (leaving.restore_deadline - before).days == 14
    event = _staff_event(leaving, "workspace.updated", superuser)
    assert event.summary.endswith(": Customer asked for time to export")
    assert event.metadata["reason"] == "Customer asked for time to export"
    assert set(event.metadata["changes"]) == {"restore_deadline"}


def test_extending_the_grace_of_an_active_workspace_is_refused_on_the_page(root, workspace):
    response = root.post(_action(workspace, "extend-grace"), {"days": "14", "reason": "?"})

    assert response.status_code == 200 and b"This workspace is not pending deletion." in response.content


def test_retry_provisioning_from_the_customer_page(root, superuser, workspace, django_capture_on_commit_callbacks):
    ServiceProvisioning.objects.create(workspace=workspace, service="storage", status="failed", attempts=6)

    with django_capture_on_commit_callbacks(execute=True):
        root.post(_action(workspace, "retry-provisioning"), {"reason": "Upstream fixed", "target": "storage"})

    assert ServiceProvisioning.objects.get(workspace=workspace, service="storage").status == "ready"
    assert _staff_event(workspace, "provisioning.retried", superuser).metadata["reason"] == "Upstream fixed"


def test_re_run_a_failed_export_from_the_customer_page(root, superuser, workspace):
    failed = ExportJob.objects.create(workspace=workspace, status="failed", error_message="disk full")

    root.post(_action(workspace, "rerun-export"), {"reason": "Disk replaced", "target": str(failed.pk)})

    assert ExportJob.objects.filter(workspace=workspace).exclude(pk=failed.pk).exists()
    assert _staff_event(workspace, "export.requested", superuser).metadata["reason"] == "Disk replaced"


def test_a_completed_export_is_not_re_run(root, workspace):
    done = ExportJob.objects.create(
        workspace=workspace, status="completed", file_name="x.zip", expires_at=timezone.now()
    )

    response = root.post(_action(workspace, "rerun-export"), {"reason": "?", "target": str(done.pk)})

    assert b"Only a failed export" in response.content
    assert ExportJob.objects.filter(workspace=workspace).count() == 1


def test_staff_actions_need_the_workspace_change_permission(admin_client_for, support_agent, workspace):
    response = admin_client_for(support_agent).post(_action(workspace, "suspend"), {"reason": "no"})

    assert response.status_code == 403
    workspace.refresh_from_db()
    assert workspace.status == "active"
