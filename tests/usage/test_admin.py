"""Staff read usage in the admin; nobody edits it there (ingestion is the only writer)."""

import pytest
from django.utils import timezone

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_staff_find_a_workspaces_daily_usage(staff_client, workspace, other_workspace, report):
    report(workspace, "api_calls", 5, timezone.now())
    report(other_workspace, "api_calls", 5, timezone.now())

    html = staff_client.get("/admin/usage/dailyusage/", {"q": workspace.slug}).content.decode()

    assert workspace.slug in html and other_workspace.slug not in html


@pytest.mark.parametrize("model", ["dailyusage", "usageevent", "quotaalert"])
def test_usage_cannot_be_added_in_the_admin(staff_client, model):
    assert staff_client.get(f"/admin/usage/{model}/").status_code == 200
    assert staff_client.get(f"/admin/usage/{model}/add/").status_code == 403
