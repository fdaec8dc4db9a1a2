from datetime import timedelta

import pytest
from django.utils import timezone

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


def test_the_list_has_five_narrow_columns_and_links_to_the_customer_page(staff_client, workspace):
    add_event(workspace, summary="x" * 400)

    html = staff_client.get(CHANGELIST).content.decode()

    header = html.split("<thead>", 1)[1].split("</thead>", 1)[0]
    assert header.count('<th scope="col"') == 5
    for column in ("When", "Workspace", "Type", "Actor", "Summary"):
        assert column in header
    assert "x" * 91 not in html  # the summary is cut in the list, whole on the event's page
    assert f"/admin/workspaces/workspace/{workspace.pk}/change/" in html


def test_staff_filter_events_by_date(staff_client, workspace):
    recent = add_event(workspace, summary="today's event")
    old = add_event(workspace, summary="last year's event")
    AuditEvent.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=400))
    assert recent.pk

    html = staff_client.get(CHANGELIST).content.decode()
    assert "Past 7 days" in html
    filtered = staff_client.get(
        CHANGELIST,
        {"created_at__gte": (timezone.now() - timedelta(days=7)).isoformat()},
    ).content.decode()

    assert "today&#x27;s event" in filtered and "last year" not in filtered
