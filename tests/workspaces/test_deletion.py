from datetime import timedelta

import pytest
from django.utils import timezone
from freezegun import freeze_time

from audit.models import AuditEvent
from tests.factories import WorkspaceFactory
from tests.helpers import API, assert_error, client_for
from workspaces.signals import workspace_restored, workspace_soft_deleted

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("method,suffix", [("delete", ""), ("post", "/delete")])
def test_soft_delete_starts_a_30_day_grace_period(workspace, method, suffix):
    with freeze_time("2026-03-01T10:00:00Z"):
        response = getattr(client_for(workspace.owner), method)(f"{API}/{workspace.slug}{suffix}")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["workspace_slug"] == workspace.slug
    assert body["deleted_at"] == "2026-03-01T10:00:00Z"
    assert body["restore_deadline"] == "2026-03-31T10:00:00Z"
    assert body["grace_period_days"] == 30
    workspace.refresh_from_db()
    assert workspace.status == "cancelled"
    assert AuditEvent.objects.filter(workspace=workspace, type="workspace.deleted").count() == 1


def test_deleted_workspace_stays_readable(owner_client, workspace):
    owner_client.delete(f"{API}/{workspace.slug}")

    response = owner_client.get(f"{API}/{workspace.slug}")

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"


def test_writes_to_a_deleted_workspace_answer_pending_deletion(owner_client, workspace):
    owner_client.delete(f"{API}/{workspace.slug}")

    response = owner_client.put(f"{API}/{workspace.slug}", {"name": "x"}, format="json")

    assert_error(response, status=400, code="WORKSPACE_PENDING_DELETION")


def test_deleting_twice_is_a_400(owner_client, workspace):
    owner_client.post(f"{API}/{workspace.slug}/delete")

    assert_error(owner_client.post(f"{API}/{workspace.slug}/delete"), status=400, code="WORKSPACE_PENDING_DELETION")


def test_member_may_not_delete(workspace, member_of):
    response = member_of(workspace, "billing").delete(f"{API}/{workspace.slug}")

    assert_error(response, status=403, code="INSUFFICIENT_ROLE")
    workspace.refresh_from_db()
    assert workspace.status == "active"


def test_restore_within_grace_period_returns_to_active(owner_client, workspace):
    owner_client.delete(f"{API}/{workspace.slug}")

    response = owner_client.post(f"{API}/{workspace.slug}/restore")

    assert response.status_code == 200
    assert response.json() == {"message": "Workspace restored.", "workspace_slug": workspace.slug, "status": "active"}
    workspace.refresh_from_db()
    assert (workspace.status, workspace.deleted_at, workspace.restore_deadline) == ("active", None, None)
    assert AuditEvent.objects.filter(workspace=workspace, type="workspace.restored").exists()


def test_restore_of_an_active_workspace_is_a_400(owner_client, workspace):
    assert_error(owner_client.post(f"{API}/{workspace.slug}/restore"), status=400, code="WORKSPACE_NOT_DELETED")


def test_restore_after_the_deadline_is_a_400():
    workspace = WorkspaceFactory.create(
        pending_deletion=True,
        deleted_at=timezone.now() - timedelta(days=31),
        restore_deadline=timezone.now() - timedelta(days=1),
    )
    response = client_for(workspace.owner).post(f"{API}/{workspace.slug}/restore")

    assert_error(response, status=400, code="RESTORE_DEADLINE_PASSED")
    workspace.refresh_from_db()
    assert workspace.status == "cancelled"


@pytest.fixture
def announcements():
    """What workspace_soft_deleted and workspace_restored said, in order."""
    heard = []

    def on_soft_deleted(sender, workspace, **kwargs):
        heard.append(("soft_deleted", workspace.pk))

    def on_restored(sender, workspace, **kwargs):
        heard.append(("restored", workspace.pk))

    workspace_soft_deleted.connect(on_soft_deleted)
    workspace_restored.connect(on_restored)
    yield heard
    workspace_soft_deleted.disconnect(on_soft_deleted)
    workspace_restored.disconnect(on_restored)


def test_soft_delete_is_announced_only_after_commit(
    owner_client, workspace, announcements, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        owner_client.delete(f"{API}/{workspace.slug}")
    assert announcements == []

    for callback in callbacks:
        callback()

    assert announcements == [("soft_deleted", workspace.pk)]


def test_restore_is_announced_after_commit(owner_client, workspace, announcements, django_capture_on_commit_callbacks):
    owner_client.delete(f"{API}/{workspace.slug}")

    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(f"{API}/{workspace.slug}/restore")

    assert announcements[-1] == ("restored", workspace.pk)
