import pytest

from audit.models import AuditEvent
from tests.audit.helpers import add_event
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/audit/auditevent/"


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory.create(is_staff=True, is_superuser=True))
    return client


def test_staff_search_events_by_workspace_slug(staff_client, workspace, other_workspace):
    add_event(workspace, summary="in the wanted workspace")
    add_event(other_workspace, summary="elsewhere")

    html = staff_client.get(CHANGELIST, {"q": workspace.slug}).content.decode()

    assert "in the wanted workspace" in html and "elsewhere" not in html


def test_an_event_page_shows_its_fields_read_only(staff_client, workspace):
    event = add_event(workspace, summary="read me")

    response = staff_client.get(f"{CHANGELIST}{event.pk}/change/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "read me" in html and 'name="summary"' not in html and 'name="_save"' not in html


def test_not_even_a_superuser_can_add_an_event(staff_client):
    assert staff_client.get(f"{CHANGELIST}add/").status_code == 403


def test_not_even_a_superuser_can_change_an_event(staff_client, workspace):
    event = add_event(workspace, summary="original")

    staff_client.post(f"{CHANGELIST}{event.pk}/change/", {"summary": "rewritten"})

    event.refresh_from_db()
    assert event.summary == "original"


def test_not_even_a_superuser_can_delete_an_event(staff_client, workspace):
    event = add_event(workspace)

    assert staff_client.post(f"{CHANGELIST}{event.pk}/delete/", {"post": "yes"}).status_code == 403
    staff_client.post(CHANGELIST, {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"})
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_staff_filter_events_by_registered_type(staff_client, workspace):
    add_event(workspace, event_type="workspace.deleted", summary="the deletion")
    add_event(workspace, summary="an update")

    html = staff_client.get(CHANGELIST, {"type": "workspace.deleted"}).content.decode()

    assert "the deletion" in html and "an update" not in html
