import pytest

from audit.models import AuditEvent
from tests.helpers import API, assert_error

pytestmark = pytest.mark.django_db


def test_owner_reads_the_workspace_in_the_spec_shape(owner_client, workspace, other_workspace):
    response = owner_client.get(f"{API}/{workspace.slug}")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(workspace.id)
    assert body["slug"] == workspace.slug
    assert body["owner_id"] == str(workspace.owner_id)
    assert body["plan_id"] == str(workspace.plan_id)
    assert body["plan"] == "free"
    assert body["status"] == "active"
    assert body["role"] == "owner"
    assert body["created_at"].endswith("Z") and body["updated_at"].endswith("Z")
    assert str(other_workspace.id) not in response.content.decode()


def test_any_member_reads_and_sees_their_role(workspace, other_workspace, member_of):
    response = member_of(workspace, "billing").get(f"{API}/{workspace.slug}")

    assert response.json()["role"] == "billing"


def test_read_takes_one_query(owner_client, workspace, django_assert_num_queries):
    # the membership with its user (the JWT's), workspace and plan
    with django_assert_num_queries(1):
        owner_client.get(f"{API}/{workspace.slug}")


def test_member_of_another_workspace_gets_403(workspace, other_workspace, member_of):
    response = member_of(other_workspace).get(f"{API}/{workspace.slug}")

    assert_error(response, status=403, code="NOT_A_MEMBER")


def test_unknown_slug_is_404(owner_client):
    assert_error(owner_client.get(f"{API}/no-such-workspace"), status=404, code="WORKSPACE_NOT_FOUND")


def test_admin_updates_name_and_description(workspace, member_of):
    old_name = workspace.name
    response = member_of(workspace, "admin").put(
        f"{API}/{workspace.slug}", {"name": "Renamed", "description": "New words"}, format="json"
    )

    assert response.status_code == 200
    workspace.refresh_from_db()
    assert (workspace.name, workspace.description) == ("Renamed", "New words")
    event = AuditEvent.objects.get(workspace=workspace, type="workspace.updated")
    assert event.metadata["changes"]["name"] == {"before": old_name, "after": "Renamed"}
    assert event.actor_type == "user"


def test_update_keeps_the_slug(owner_client, workspace):
    owner_client.put(f"{API}/{workspace.slug}", {"name": "Something else"}, format="json")

    workspace.refresh_from_db()
    assert workspace.slug.startswith("workspace-")


def test_plain_member_may_not_update(workspace, member_of):
    response = member_of(workspace, "member").put(f"{API}/{workspace.slug}", {"name": "Nope"}, format="json")

    assert_error(response, status=403, code="INSUFFICIENT_ROLE")
    workspace.refresh_from_db()
    assert workspace.name != "Nope"


def test_empty_update_is_a_400(owner_client, workspace):
    assert_error(owner_client.put(f"{API}/{workspace.slug}", {}, format="json"), status=400, code="VALIDATION_ERROR")


def test_overlong_name_is_a_400_naming_the_field(owner_client, workspace):
    response = owner_client.put(f"{API}/{workspace.slug}", {"name": "x" * 500}, format="json")

    assert list(assert_error(response, status=400, code="VALIDATION_ERROR")["details"]) == ["name"]


def test_capabilities_come_from_the_plan(owner_client, workspace):
    workspace.plan.features = {"ai": {"enabled": True}}
    workspace.plan.save()

    body = owner_client.get(f"{API}/{workspace.slug}/capabilities").json()

    assert body["plan"] == "free"
    assert body["capabilities"]["ai"] == {"enabled": True, "validation": False, "anomalyInsights": False}
    assert set(body["capabilities"]) == {
        "ai",
        "compute",
        "scheduler",
        "storage",
        "search",
        "billing",
        "advancedRbac",
        "supportTickets",
        "backups",
    }


def test_settings_of_a_suspended_workspace_cannot_change(owner_client, workspace):
    workspace.status = "suspended"
    workspace.save()

    response = owner_client.put(f"{API}/{workspace.slug}", {"name": "New name"}, format="json")

    assert_error(response, status=403, code="WORKSPACE_SUSPENDED")
    workspace.refresh_from_db()
    assert workspace.name != "New name"


def test_a_suspended_workspace_stays_readable(owner_client, workspace):
    workspace.status = "suspended"
    workspace.save()

    assert owner_client.get(f"{API}/{workspace.slug}").json()["status"] == "suspended"


def test_a_suspended_workspace_cannot_be_deleted_and_restored_back_to_active(owner_client, workspace):
    workspace.status = "suspended"
    workspace.save()

    assert_error(owner_client.delete(f"{API}/{workspace.slug}"), status=403, code="WORKSPACE_SUSPENDED")


def test_a_suspended_workspace_may_still_export_its_data(owner_client, workspace):
    workspace.status = "suspended"
    workspace.save()

    assert owner_client.post(f"{API}/{workspace.slug}/export").status_code == 202
