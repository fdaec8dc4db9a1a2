"""The staff support console in the admin, through Django's test client."""

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import record
from billing.models import Plan
from support.models import Comment, CommentKind, SupportIssue
from support.roles import SUPPORT_GROUP_PERMISSIONS
from support.services import add_internal_note, add_staff_reply
from tests.factories import UserFactory, WorkspaceFactory
from tests.support.factories import CommentFactory, StaffFactory, SupportIssueFactory

pytestmark = pytest.mark.django_db

QUEUE = "/admin/support/supportissue/"


def _thread(issue):
    return f"{QUEUE}{issue.pk}/change/"


def test_the_support_group_has_exactly_the_console_permissions(support_group):
    granted = {(p.content_type.app_label, p.codename) for p in support_group.permissions.select_related("content_type")}

    assert granted == set(SUPPORT_GROUP_PERMISSIONS)


def test_the_queue_lists_issues_with_urgent_ones_first_and_highlighted(console, workspace, other_workspace):
    SupportIssueFactory.create(workspace=workspace, title="Routine question", priority="low")
    SupportIssueFactory.create(workspace=other_workspace, title="Production is down", priority="urgent")

    html = console.get(QUEUE).content.decode()

    assert html.index("Production is down") < html.index("Routine question")
    assert 'class="priority-urgent"' in html


@pytest.mark.parametrize(
    "params, shown, hidden",
    [
        ({"status__exact": "resolved"}, "Resolved one", "Open one"),
        ({"priority__exact": "high"}, "Resolved one", "Open one"),
        ({"type__exact": "bug"}, "Open one", "Resolved one"),
        ({"q": "acme-corp"}, "Open one", "Resolved one"),
    ],
)
def test_the_queue_filters_and_searches(console, params, shown, hidden):
    acme = WorkspaceFactory.create(slug="acme-corp")
    SupportIssueFactory.create(workspace=acme, title="Open one", type="bug")
    SupportIssueFactory.create(title="Resolved one", status="resolved", priority="high")

    html = console.get(QUEUE, params).content.decode()

    assert shown in html and hidden not in html


def test_the_queue_filters_by_workspace_plan_and_assignee(console, support_staff):
    pro_workspace = WorkspaceFactory.create(plan=Plan.objects.get(code="pro"))
    SupportIssueFactory.create(workspace=pro_workspace, title="Pro customer", assigned_to=support_staff)
    SupportIssueFactory.create(title="Free customer")

    by_plan = console.get(QUEUE, {"workspace__plan__id__exact": pro_workspace.plan_id}).content.decode()
    by_assignee = console.get(QUEUE, {"assigned_to__id__exact": support_staff.pk}).content.decode()

    assert "Pro customer" in by_plan and "Free customer" not in by_plan
    assert "Pro customer" in by_assignee and "Free customer" not in by_assignee


def test_the_thread_page_shows_the_conversation_plan_and_recent_activity(console, workspace, support_staff):
    issue = SupportIssueFactory.create(workspace=workspace, description="Exports stall.")
    CommentFactory.create(issue=issue, body="Still stalling today.")
    add_internal_note(issue=issue, staff=support_staff, body="Known bug, see INC-42.")
    record(
        workspace=workspace, event_type="plan.changed", resource_type="plan", resource_id="free", summary="Plan moved"
    )

    html = console.get(_thread(issue)).content.decode()

    for text in (
        "Exports stall.",
        "Still stalling today.",
        "Known bug, see INC-42.",
        "Internal note",
        workspace.plan.name,
        "Plan moved",
    ):
        assert text in html


def test_staff_reply_reaches_the_thread_the_audit_log_and_the_creator(
    console, workspace, support_staff, django_capture_on_commit_callbacks
):
    issue = SupportIssueFactory.create(workspace=workspace)

    with django_capture_on_commit_callbacks(execute=True):
        response = console.post(_thread(issue), {"action": "reply", "body": "Fixed in 5.1.3."})

    assert response.status_code == 302
    reply = Comment.objects.get(issue=issue)
    assert (reply.kind, reply.author, reply.display_name) == (
        "staff_reply",
        support_staff,
        "Sam Staff (Centrali Support)",
    )
    event = AuditEvent.objects.get(workspace=workspace, type="comment.added")
    assert (event.actor_type, event.actor_id) == ("staff", str(support_staff.pk))
    (email,) = mail.outbox
    assert email.to == [workspace.owner.email] and "Fixed in 5.1.3." in email.body


def test_an_internal_note_stays_among_staff(console, workspace, django_capture_on_commit_callbacks):
    issue = SupportIssueFactory.create(workspace=workspace)

    with django_capture_on_commit_callbacks(execute=True):
        console.post(_thread(issue), {"action": "note", "body": "Customer is on a legacy cluster."})

    note = Comment.objects.get(issue=issue)
    assert note.kind == CommentKind.INTERNAL_NOTE
    assert mail.outbox == []
    event = AuditEvent.objects.get(workspace=workspace, type="support_issue.internal_note_added")
    assert event.actor_type == "staff" and "legacy cluster" not in event.summary + str(event.metadata)


def test_an_empty_reply_shows_the_form_again_with_its_error(console, workspace):
    issue = SupportIssueFactory.create(workspace=workspace)

    response = console.post(_thread(issue), {"action": "reply", "body": "   "})

    assert response.status_code == 200 and "This field is required." in response.content.decode()
    assert not Comment.objects.exists()


def test_assign_to_me_takes_the_issue_and_moves_it_in_progress(console, workspace, support_staff):
    issue = SupportIssueFactory.create(workspace=workspace)

    console.post(_thread(issue), {"action": "assign_to_me"})

    issue.refresh_from_db()
    assert (issue.assigned_to, issue.status) == (support_staff, "in_progress")
    assigned = AuditEvent.objects.get(workspace=workspace, type="support_issue.assigned")
    moved = AuditEvent.objects.get(workspace=workspace, type="support_issue.updated")
    assert {(event.actor_type, event.actor_id) for event in (assigned, moved)} == {("staff", str(support_staff.pk))}


@pytest.mark.parametrize("action, status", [("resolve", "resolved"), ("close", "closed")])
def test_queue_actions_resolve_and_close(console, workspace, action, status, django_capture_on_commit_callbacks):
    issues = SupportIssueFactory.create_batch(2, workspace=workspace)

    with django_capture_on_commit_callbacks(execute=True):
        console.post(QUEUE, {"action": action, "_selected_action": [i.pk for i in issues]})

    assert set(SupportIssue.objects.values_list("status", flat=True)) == {status}
    assert AuditEvent.objects.filter(workspace=workspace, type="support_issue.updated", actor_type="staff").count() == 2
    assert len(mail.outbox) == 2  # the creator hears of each status change


def test_an_action_the_workflow_forbids_is_reported_not_applied(console, workspace):
    closed = SupportIssueFactory.create(workspace=workspace, status="closed", closed_at="2026-11-01T00:00:00Z")

    response = console.post(_thread(closed), {"action": "resolve"}, follow=True)

    assert "cannot go from" in response.content.decode()
    closed.refresh_from_db()
    assert closed.status == "closed"


def test_staff_cannot_add_or_delete_issues(console, workspace):
    issue = SupportIssueFactory.create(workspace=workspace)

    assert console.get(f"{QUEUE}add/").status_code == 403
    assert console.post(f"{QUEUE}{issue.pk}/delete/", {"post": "yes"}).status_code == 403
    assert SupportIssue.objects.filter(pk=issue.pk).exists()


def test_staff_outside_the_support_group_cannot_open_the_console(client, workspace):
    client.force_login(StaffFactory.create())
    issue = SupportIssueFactory.create(workspace=workspace)

    assert client.get(QUEUE).status_code == 403
    assert client.post(_thread(issue), {"action": "reply", "body": "hi"}).status_code == 403
    assert not Comment.objects.exists()


def test_read_only_support_staff_see_threads_but_cannot_reply(client, workspace):
    viewer = StaffFactory.create()
    viewer.user_permissions.add(Permission.objects.get(codename="view_supportissue"))
    client.force_login(viewer)
    issue = SupportIssueFactory.create(workspace=workspace)

    assert client.get(_thread(issue)).status_code == 200
    assert client.post(_thread(issue), {"action": "reply", "body": "hi"}).status_code == 403
    assert client.post(_thread(issue), {"action": "close"}).status_code == 403


def test_a_customer_cannot_reach_the_console(client, workspace):
    client.force_login(UserFactory.create())

    assert client.get(QUEUE).status_code == 302  # to the admin login


def test_the_queue_costs_the_same_queries_for_two_issues_or_twenty(console, workspace, django_assert_num_queries):
    SupportIssueFactory.create_batch(2, workspace=workspace, assigned_to=StaffFactory.create())
    with CaptureQueriesContext(connection) as few:
        console.get(QUEUE)
    SupportIssueFactory.create_batch(18, workspace=WorkspaceFactory.create(), assigned_to=StaffFactory.create())

    with django_assert_num_queries(len(few)):
        console.get(QUEUE)


def test_the_queue_puts_waiting_issues_before_closed_ones_and_the_longest_waiting_first(console, workspace):
    SupportIssueFactory.create(
        workspace=workspace, title="Closed urgent", priority="urgent", status="closed", closed_at="2026-11-01T00:00:00Z"
    )
    SupportIssueFactory.create(workspace=workspace, title="Older high", priority="high")
    SupportIssueFactory.create(workspace=workspace, title="Newer high", priority="high")

    html = console.get(QUEUE).content.decode()

    assert html.index("Older high") < html.index("Newer high") < html.index("Closed urgent")


def test_the_queue_shows_the_last_reply_and_who_wrote_it(console, workspace, support_staff):
    waiting = SupportIssueFactory.create(workspace=workspace, title="Customer spoke last")
    CommentFactory.create(issue=waiting, display_name="alice")
    answered = SupportIssueFactory.create(workspace=workspace, title="Staff answered")
    add_staff_reply(issue=answered, staff=support_staff, body="Done.")

    html = console.get(QUEUE).content.decode()

    assert "alice<br><small>customer," in html and "<small>staff," in html and "no reply yet" not in html
    assert f"/admin/workspaces/workspace/{workspace.pk}/change/" in html  # the customer page


def test_the_waiting_on_staff_filter(console, workspace, support_staff):
    unanswered = SupportIssueFactory.create(workspace=workspace, title="Nobody answered")
    customer_last = SupportIssueFactory.create(workspace=workspace, title="Customer wrote back")
    add_staff_reply(issue=customer_last, staff=support_staff, body="Try again?")
    CommentFactory.create(issue=customer_last, body="Still broken.")
    answered = SupportIssueFactory.create(workspace=workspace, title="Ball in customer court")
    add_staff_reply(issue=answered, staff=support_staff, body="Fixed.")
    SupportIssueFactory.create(workspace=workspace, title="Closed long ago", status="closed", closed_at=timezone.now())
    assert unanswered.pk

    html = console.get(QUEUE, {"queue": "waiting"}).content.decode()

    assert "Nobody answered" in html and "Customer wrote back" in html
    assert "Ball in customer court" not in html and "Closed long ago" not in html


def test_set_priority_with_a_reason(console, workspace, support_staff):
    issue = SupportIssueFactory.create(workspace=workspace, priority="low")

    console.post(_thread(issue), {"action": "set_priority", "priority": "urgent", "reason": "Production outage"})

    issue.refresh_from_db()
    assert issue.priority == "urgent"
    event = AuditEvent.objects.get(workspace=workspace, type="support_issue.updated")
    assert (event.actor_type, event.actor_id) == ("staff", str(support_staff.pk))
    assert event.metadata == {
        "changes": {"priority": {"before": "low", "after": "urgent"}},
        "reason": "Production outage",
    }


def test_set_priority_needs_a_reason(console, workspace):
    issue = SupportIssueFactory.create(workspace=workspace, priority="low")

    response = console.post(_thread(issue), {"action": "set_priority", "priority": "urgent", "reason": ""})

    assert response.status_code == 200 and b"This field is required" in response.content
    issue.refresh_from_db()
    assert issue.priority == "low"


def test_assign_to_any_support_colleague(console, workspace, support_staff, support_group):
    colleague = StaffFactory.create(email="kim@centrali.test")
    colleague.groups.add(support_group)
    outsider = StaffFactory.create(email="bea@centrali.test")
    issue = SupportIssueFactory.create(workspace=workspace)

    page = console.get(_thread(issue)).content.decode()
    assert "kim@centrali.test" in page and "bea@centrali.test" not in page  # only Support staff are offered
    console.post(_thread(issue), {"action": "assign", "assigned_to": str(colleague.pk), "reason": "Kim knows exports"})
    refused = console.post(_thread(issue), {"action": "assign", "assigned_to": str(outsider.pk), "reason": ""})

    issue.refresh_from_db()
    assert issue.assigned_to == colleague
    assert refused.status_code == 200 and b"Select a valid choice" in refused.content
    event = AuditEvent.objects.get(workspace=workspace, type="support_issue.assigned")
    assert (event.actor_type, event.actor_id) == ("staff", str(support_staff.pk))
    assert event.summary.endswith(": Kim knows exports")


def test_the_thread_links_to_the_customer_page(console, workspace):
    issue = SupportIssueFactory.create(workspace=workspace)

    html = console.get(_thread(issue)).content.decode()

    assert f'href="/admin/workspaces/workspace/{workspace.pk}/change/"' in html
