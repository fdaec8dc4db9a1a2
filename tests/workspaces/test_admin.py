import pytest

from audit.models import AuditEvent
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/workspaces/workspace/"


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory.create(is_staff=True, is_superuser=True))
    return client


def test_staff_find_a_workspace_by_owner_email(staff_client):
    wanted = WorkspaceFactory.create(owner=UserFactory.create(email="needle@corp.test"))
    other = WorkspaceFactory.create()

    html = staff_client.get(CHANGELIST, {"q": "needle@corp"}).content.decode()

    assert wanted.slug in html and other.slug not in html


def test_staff_filter_by_status(staff_client):
    suspended = WorkspaceFactory.create(status="suspended")
    active = WorkspaceFactory.create()

    html = staff_client.get(CHANGELIST, {"status__exact": "suspended"}).content.decode()

    assert suspended.slug in html and active.slug not in html


def test_the_customer_page_shows_members_with_their_roles(staff_client):
    workspace = WorkspaceFactory.create()
    member = MembershipFactory.create(workspace=workspace, role="billing").user

    html = staff_client.get(f"{CHANGELIST}{workspace.pk}/change/").content.decode()

    assert member.username in html and "Billing" in html


def test_suspend_action_asks_for_a_reason_then_suspends_and_records_a_staff_event(staff_client):
    workspace = WorkspaceFactory.create()
    selection = {"action": "suspend", "_selected_action": [workspace.pk]}

    form = staff_client.post(CHANGELIST, selection)
    assert form.status_code == 200 and b'name="reason"' in form.content
    workspace.refresh_from_db()
    assert workspace.status == "active"  # not before the reason is given

    staff_client.post(CHANGELIST, {**selection, "apply": "1", "reason": "Chargeback fraud"})

    workspace.refresh_from_db()
    assert (workspace.status, workspace.suspension_reason) == ("suspended", "Chargeback fraud")
    event = AuditEvent.objects.get(workspace=workspace, type="workspace.suspended")
    assert event.actor_type == "staff"
    assert event.summary == "Workspace suspended: Chargeback fraud"


def test_suspend_action_without_a_reason_changes_nothing(staff_client):
    workspace = WorkspaceFactory.create()

    response = staff_client.post(
        CHANGELIST, {"action": "suspend", "_selected_action": [workspace.pk], "apply": "1", "reason": " "}
    )

    assert response.status_code == 200 and b"This field is required" in response.content
    workspace.refresh_from_db()
    assert workspace.status == "active"


def test_unsuspend_action_returns_to_active(staff_client):
    workspace = WorkspaceFactory.create(status="suspended")

    staff_client.post(
        CHANGELIST, {"action": "unsuspend", "_selected_action": [workspace.pk], "apply": "1", "reason": "Paid by wire"}
    )

    workspace.refresh_from_db()
    assert workspace.status == "active"
    assert AuditEvent.objects.get(workspace=workspace, type="workspace.unsuspended").summary == (
        "Workspace unsuspended: Paid by wire"
    )


def test_restore_action_restores_within_grace_period(staff_client):
    workspace = WorkspaceFactory.create(pending_deletion=True)

    staff_client.post(CHANGELIST, {"action": "restore", "_selected_action": [workspace.pk]})

    workspace.refresh_from_db()
    assert workspace.status == "active"
    assert AuditEvent.objects.get(workspace=workspace, type="workspace.restored").actor_type == "staff"


def test_staff_cannot_delete_a_workspace_from_the_admin(staff_client):
    workspace = WorkspaceFactory.create()

    response = staff_client.post(f"{CHANGELIST}{workspace.pk}/delete/", {"post": "yes"})

    assert response.status_code == 403
    assert Workspace.objects.filter(pk=workspace.pk).exists()


def test_workspace_form_is_read_only(staff_client):
    workspace = WorkspaceFactory.create(name="Original")

    staff_client.post(f"{CHANGELIST}{workspace.pk}/change/", {"name": "Edited by staff"})

    workspace.refresh_from_db()
    assert workspace.name == "Original"


def test_restore_action_reports_a_workspace_the_service_refuses(staff_client):
    active = WorkspaceFactory.create()

    response = staff_client.post(CHANGELIST, {"action": "restore", "_selected_action": [active.pk]}, follow=True)

    assert response.status_code == 200
    assert "This workspace is not pending deletion." in response.content.decode()  # the refusal, not a 500
    active.refresh_from_db()
    assert active.status == "active"
