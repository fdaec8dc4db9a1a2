"""Notifications leave through a real Celery worker on Redis once the transaction commits.

The worker sends with Django's file-based email backend into this test's directory, so
each message it sent can be read back.
"""

import pytest
import requests

from centrali.api.authentication import issue_access_token
from support.models import SupportIssue
from tests.e2e.harness import wait_for
from tests.factories import WorkspaceFactory
from tests.support.factories import StaffFactory, SupportIssueFactory

pytestmark = pytest.mark.e2e


@pytest.fixture
def outbox(tmp_path):
    path = tmp_path / "mail"
    path.mkdir()
    return path


def _messages(outbox):
    return [message.read_text() for message in sorted(outbox.iterdir())]


def _worker_sending_to(start_celery_worker, outbox, **env):
    return start_celery_worker(
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend", EMAIL_FILE_PATH=str(outbox), **env
    )


def test_an_urgent_issue_opened_through_the_api_reaches_staff(start_celery_worker, live_api, outbox):
    _worker_sending_to(start_celery_worker, outbox, SUPPORT_STAFF_EMAILS="oncall@centrali.test")
    workspace = WorkspaceFactory.create()

    response = requests.post(
        f"{live_api}/{workspace.slug}/support-issues",
        json={"title": "Production is down", "description": "Every request answers 502.", "priority": "urgent"},
        headers={"Authorization": f"Bearer {issue_access_token(workspace.owner)}"},
        timeout=30,
    )

    assert response.status_code == 201, response.text
    (message,) = wait_for(lambda: _messages(outbox), "the worker to email staff about the urgent issue")
    assert "To: oncall@centrali.test" in message
    assert "Production is down" in message and "Every request answers 502." in message


def test_a_staff_reply_in_the_console_reaches_the_issue_creator(start_celery_worker, client, outbox):
    _worker_sending_to(start_celery_worker, outbox)
    issue = SupportIssueFactory.create(workspace=WorkspaceFactory.create())
    client.force_login(StaffFactory.create(is_superuser=True))

    response = client.post(f"/admin/support/supportissue/{issue.pk}/change/", {"action": "reply", "body": "Fixed."})

    assert response.status_code == 302
    (message,) = wait_for(lambda: _messages(outbox), "the worker to email the creator about the reply")
    assert issue.created_by is not None
    assert f"To: {issue.created_by.email}" in message and "Fixed." in message
    assert SupportIssue.objects.get(pk=issue.pk).comments.count() == 1
