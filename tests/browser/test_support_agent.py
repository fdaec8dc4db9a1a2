"""A support agent answers the urgent issue of the day, in the browser, and the customer sees the reply."""

from __future__ import annotations

import re

import pytest
import requests

from centrali.api.authentication import issue_access_token
from support.roles import sync_support_group
from tests.browser.helpers import sign_in
from tests.factories import WorkspaceFactory
from tests.helpers import API

REPLY = "We have restored your export; it is ready to download again."


def open_issue(live_server, token, slug, **fields):
    """The customer opens an issue through the API, as their app would."""
    response = requests.post(
        f"{live_server.url}{API}/{slug}/support-issues",
        json={"description": "Details.", "type": "bug", **fields},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return response.json()


@pytest.mark.django_db(transaction=True)
def test_a_support_agent_finds_the_urgent_issue_on_the_dashboard_and_replies(
    page, expect, live_server, screenshots, staff_in
):
    workspace = WorkspaceFactory.create(name="Acme Robotics", slug="acme")
    token = issue_access_token(workspace.owner)
    open_issue(live_server, token, workspace.slug, title="How do I rename a project?", priority="low")
    urgent = open_issue(live_server, token, workspace.slug, title="Export archive is empty", priority="urgent")
    agent = staff_in(sync_support_group, username="sam", first_name="Sam", last_name="Agent")

    sign_in(page, agent, screenshots)
    screenshots.take(page, "dashboard")

    # The dashboard counts open urgent issues and links to the queue filtered on them.
    page.get_by_role("link", name="Open urgent issues: 1").click()
    expect(page).to_have_url(re.compile(r"/admin/support/supportissue/\?.*urgent"))
    queue = page.locator("#result_list")
    expect(queue).to_contain_text("Export archive is empty")
    expect(queue).not_to_contain_text("How do I rename a project?")
    screenshots.take(page, "urgent queue")

    queue.get_by_role("link", name="Export archive is empty").click()
    expect(page.locator("#content")).to_contain_text("Export archive is empty")
    screenshots.take(page, "issue thread")

    page.locator("#staff-message-form textarea[name='body']").fill(REPLY)
    page.get_by_role("button", name="Send reply to the workspace").click()
    expect(page.locator(".messagelist")).to_contain_text("Reply sent")
    expect(page.locator(".support-message.staff_reply")).to_contain_text(REPLY)
    screenshots.take(page, "reply sent")

    # The customer reads the reply through the API.
    comments = requests.get(
        f"{live_server.url}{API}/{workspace.slug}/support-issues/{urgent['id']}/comments",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert comments.status_code == 200, comments.text
    [reply] = comments.json()["data"]
    assert (reply["comment"], reply["type"]) == (REPLY, "staff_reply")
    assert len(screenshots.taken) == 5
