"""A broker outage never fails a support write that committed: the notification is logged as not queued."""

import pytest
from structlog.testing import capture_logs

from support.models import SupportIssue
from tests.factories import MembershipFactory, WorkspaceFactory
from tests.helpers import API, client_for
from tests.support.factories import SupportIssueFactory

URGENT_ISSUE = {"title": "Everything is down", "description": "Since 09:00.", "type": "bug", "priority": "urgent"}


@pytest.mark.django_db(transaction=True)
def test_an_urgent_issue_opened_while_the_broker_is_down_is_created_once(broker_at, closed_port):
    workspace, other_workspace = WorkspaceFactory.create(), WorkspaceFactory.create()
    broker_at(f"redis://127.0.0.1:{closed_port}/0")  # a real broker URL with nothing listening

    response = client_for(workspace.owner).post(f"{API}/{workspace.slug}/support-issues", URGENT_ISSUE, format="json")

    assert response.status_code == 201
    assert list(SupportIssue.objects.values_list("workspace", "title")) == [(workspace.pk, "Everything is down")]
    assert not SupportIssue.objects.filter(workspace=other_workspace).exists()


@pytest.mark.django_db(transaction=True)
def test_a_notification_that_could_not_be_queued_is_logged_with_its_issue(broker_at, closed_port):
    workspace = WorkspaceFactory.create()
    broker_at(f"redis://127.0.0.1:{closed_port}/0")

    with capture_logs() as logs:
        issue_id = (
            client_for(workspace.owner)
            .post(f"{API}/{workspace.slug}/support-issues", URGENT_ISSUE, format="json")
            .json()["id"]
        )

    assert {
        "event": "support.notification_not_queued",
        "task": "support.notify_staff_of_new_issue",
        "args": [str(issue_id)],
        "log_level": "warning",
    } in logs


@pytest.mark.django_db(transaction=True)
def test_a_status_change_while_the_broker_is_down_still_succeeds(broker_at, closed_port):
    workspace = WorkspaceFactory.create()
    creator = MembershipFactory.create(workspace=workspace, role="member").user
    issue = SupportIssueFactory.create(workspace=workspace, created_by=creator)
    broker_at(f"redis://127.0.0.1:{closed_port}/0")

    response = client_for(workspace.owner).put(
        f"{API}/{workspace.slug}/support-issues/{issue.pk}", {"status": "resolved"}, format="json"
    )

    assert response.status_code == 200
    issue.refresh_from_db()
    assert issue.status == "resolved"
