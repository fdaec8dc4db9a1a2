import pytest
from django.core import mail

from audit.models import AuditEvent
from tests.helpers import API, assert_error, client_for
from tests.support.factories import SupportIssueFactory

pytestmark = pytest.mark.django_db


def _issues(workspace):
    return f"{API}/{workspace.slug}/support-issues"


def _issue(issue):
    return f"{API}/{issue.workspace.slug}/support-issues/{issue.pk}"


NEW_ISSUE = {"title": "Exports stall at 90%", "description": "Since Monday.", "type": "bug", "priority": "low"}


def test_a_member_opens_an_issue_and_gets_the_spec_shape(workspace, member, member_client):
    response = member_client.post(_issues(workspace), {**NEW_ISSUE, "category": "exports"}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert isinstance(body["id"], int)
    assert body == {
        **body,
        "summary": "Exports stall at 90%",
        "description": "Since Monday.",
        "type": "bug",
        "priority": "low",
        "status": "open",
        "category": "exports",
        "workspaceSlug": workspace.slug,
        "createdBy": str(member.pk),
        "assignedTo": None,
        "resolvedAt": None,
        "closedAt": None,
    }
    assert body["createdAt"].endswith("Z") and body["updatedAt"].endswith("Z")


def test_type_and_priority_default_to_question_and_medium(workspace, owner_client):
    body = owner_client.post(_issues(workspace), {"title": "How?", "description": "How do I?"}, format="json").json()

    assert (body["type"], body["priority"]) == ("question", "medium")


def test_opening_an_issue_is_audited(workspace, member, member_client):
    issue_id = member_client.post(_issues(workspace), NEW_ISSUE, format="json").json()["id"]

    event = AuditEvent.objects.get(workspace=workspace, type="support_issue.created")
    assert (event.resource_type, event.resource_id, event.actor_id) == ("support_issue", str(issue_id), str(member.pk))


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"description": "no title"}, "title"),
        ({"title": "no description"}, "description"),
        ({**NEW_ISSUE, "priority": "critical"}, "priority"),
        ({**NEW_ISSUE, "type": "complaint"}, "type"),
        ({**NEW_ISSUE, "title": "x" * 201}, "title"),
    ],
)
def test_an_invalid_issue_is_a_400_naming_the_field(workspace, owner_client, payload, field):
    response = owner_client.post(_issues(workspace), payload, format="json")

    assert field in assert_error(response, status=400, code="VALIDATION_ERROR")["details"]


def test_a_non_member_cannot_open_an_issue(workspace, other_workspace, member_of):
    response = member_of(other_workspace).post(_issues(workspace), NEW_ISSUE, format="json")

    assert_error(response, status=403, code="NOT_A_MEMBER")


@pytest.mark.parametrize("priority", ["high", "urgent"])
def test_staff_are_emailed_about_high_and_urgent_issues(
    workspace, owner_client, support_staff, settings, priority, django_capture_on_commit_callbacks
):
    settings.SUPPORT_STAFF_EMAILS = ["oncall@centrali.test"]
    settings.SUPPORT_CONSOLE_URL = "https://ops.centrali.test/admin/support/supportissue/"

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(_issues(workspace), {**NEW_ISSUE, "priority": priority}, format="json")

    (email,) = mail.outbox
    assert sorted(email.to) == ["oncall@centrali.test", "sam@centrali.test"]
    assert workspace.slug in email.subject and "Exports stall at 90%" in email.subject
    assert "Since Monday." in email.body
    assert f"https://ops.centrali.test/admin/support/supportissue/{response.json()['id']}/change/" in email.body


def test_staff_are_not_emailed_about_low_and_medium_issues(
    workspace, owner_client, support_staff, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(_issues(workspace), {**NEW_ISSUE, "priority": "medium"}, format="json")

    assert mail.outbox == []


def test_the_list_is_newest_first_with_page_metadata(workspace, other_workspace, owner_client):
    older, newer = SupportIssueFactory.create(workspace=workspace), SupportIssueFactory.create(workspace=workspace)
    SupportIssueFactory.create(workspace=other_workspace, title="not yours")

    response = owner_client.get(_issues(workspace), {"limit": 1})

    body = response.json()
    assert [issue["id"] for issue in body["data"]] == [newer.pk]
    assert body["pagination"] == {"page": 1, "limit": 1, "total": 2, "totalPages": 2}
    assert [i["id"] for i in owner_client.get(_issues(workspace), {"page": 2, "limit": 1}).json()["data"]] == [older.pk]


def test_the_list_filters_by_status(workspace, other_workspace, owner_client):
    resolved = SupportIssueFactory.create(workspace=workspace, status="resolved")
    SupportIssueFactory.create(workspace=workspace)
    SupportIssueFactory.create(workspace=other_workspace, status="resolved")

    body = owner_client.get(_issues(workspace), {"status": "resolved"}).json()

    assert [issue["id"] for issue in body["data"]] == [resolved.pk]
    assert body["pagination"]["total"] == 1


def test_a_second_tenants_issues_never_appear(workspace, other_workspace, owner_client):
    SupportIssueFactory.create(workspace=other_workspace, title="the other tenant's secret")

    response = owner_client.get(_issues(workspace))

    assert response.json()["data"] == []
    assert "secret" not in response.content.decode()


@pytest.mark.parametrize(
    "params, code", [({"status": "pending"}, "INVALID_FILTER"), ({"limit": 0}, "INVALID_PAGINATION")]
)
def test_invalid_list_parameters_are_a_400(workspace, owner_client, params, code):
    body = assert_error(owner_client.get(_issues(workspace), params), status=400, code=code)

    assert list(body["details"]) == list(params)


def test_listing_takes_two_queries(workspace, other_workspace, owner_client, django_assert_num_queries):
    SupportIssueFactory.create_batch(3, workspace=workspace)

    # the membership with its user (the JWT's), the page with the total on each row
    with django_assert_num_queries(2):
        owner_client.get(_issues(workspace))


def test_a_page_past_the_end_is_empty_and_still_counts_the_total(workspace, other_workspace, owner_client):
    SupportIssueFactory.create_batch(3, workspace=workspace)
    SupportIssueFactory.create_batch(2, workspace=other_workspace)

    body = owner_client.get(_issues(workspace) + "?page=5&limit=2").json()

    assert body["data"] == []
    assert body["pagination"] == {"page": 5, "limit": 2, "total": 3, "totalPages": 2}


def test_any_member_reads_an_issue(workspace, other_workspace, member_client):
    issue = SupportIssueFactory.create(workspace=workspace)

    body = member_client.get(_issue(issue)).json()

    assert (body["id"], body["summary"]) == (issue.pk, issue.title)


def test_ids_of_another_workspaces_issues_are_404(workspace, other_workspace, owner_client):
    foreign = SupportIssueFactory.create(workspace=other_workspace)
    url = f"{API}/{workspace.slug}/support-issues/{foreign.pk}"

    assert_error(owner_client.get(url), status=404, code="ISSUE_NOT_FOUND")
    assert_error(owner_client.put(url, {"priority": "urgent"}, format="json"), status=404, code="ISSUE_NOT_FOUND")
    foreign.refresh_from_db()
    assert foreign.priority == "medium"


@pytest.mark.parametrize("bad_id", ["abc", "0", "-1", "99999999999999999999999"])
def test_malformed_issue_ids_are_404(workspace, owner_client, bad_id):
    response = owner_client.get(f"{API}/{workspace.slug}/support-issues/{bad_id}")

    assert_error(response, status=404, code="ISSUE_NOT_FOUND")


def test_the_creator_updates_their_issue_and_the_change_is_audited(workspace, member, member_client):
    issue = SupportIssueFactory.create(workspace=workspace, created_by=member)

    response = member_client.put(_issue(issue), {"title": "Sharper title", "priority": "high"}, format="json")

    assert response.status_code == 200
    assert (response.json()["summary"], response.json()["priority"]) == ("Sharper title", "high")
    event = AuditEvent.objects.get(workspace=workspace, type="support_issue.updated")
    assert event.metadata["changes"] == {
        "title": {"before": issue.title, "after": "Sharper title"},
        "priority": {"before": "medium", "after": "high"},
    }
    assert (event.actor_type, event.actor_id) == ("user", str(member.pk))


def test_a_member_cannot_update_someone_elses_issue(workspace, other_workspace, member_client):
    issue = SupportIssueFactory.create(workspace=workspace)

    response = member_client.put(_issue(issue), {"priority": "urgent"}, format="json")

    assert_error(response, status=403, code="NOT_ISSUE_CREATOR")


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_owners_and_admins_update_any_issue(workspace, member, member_of, role):
    issue = SupportIssueFactory.create(workspace=workspace, created_by=member)
    client = client_for(workspace.owner) if role == "owner" else member_of(workspace, role)

    assert client.put(_issue(issue), {"status": "in_progress"}, format="json").json()["status"] == "in_progress"


def test_a_billing_member_cannot_update_others_issues(workspace, member_of):
    issue = SupportIssueFactory.create(workspace=workspace)

    response = member_of(workspace, "billing").put(_issue(issue), {"priority": "low"}, format="json")

    assert_error(response, status=403, code="NOT_ISSUE_CREATOR")


@pytest.mark.parametrize(
    "before, after",
    [
        ("open", "in_progress"),
        ("open", "resolved"),
        ("open", "closed"),
        ("in_progress", "open"),
        ("in_progress", "resolved"),
        ("resolved", "open"),
        ("resolved", "closed"),
    ],
)
def test_allowed_status_transitions(workspace, owner_client, before, after):
    issue = SupportIssueFactory.create(workspace=workspace, status=before)

    assert owner_client.put(_issue(issue), {"status": after}, format="json").json()["status"] == after


@pytest.mark.parametrize(
    "before, after",
    [("closed", "open"), ("closed", "resolved"), ("closed", "in_progress"), ("resolved", "in_progress")],
)
def test_other_status_transitions_are_a_400(workspace, owner_client, before, after):
    closed_at = "2026-11-01T00:00:00Z" if before == "closed" else None
    issue = SupportIssueFactory.create(workspace=workspace, status=before, closed_at=closed_at)

    response = owner_client.put(_issue(issue), {"status": after}, format="json")

    assert list(assert_error(response, status=400, code="INVALID_STATUS_TRANSITION")["details"]) == ["status"]
    issue.refresh_from_db()
    assert issue.status == before


def test_resolving_and_closing_stamp_their_times(workspace, owner_client):
    issue = SupportIssueFactory.create(workspace=workspace)

    resolved = owner_client.put(_issue(issue), {"status": "resolved"}, format="json").json()
    closed = owner_client.put(_issue(issue), {"status": "closed"}, format="json").json()

    assert resolved["resolvedAt"] and resolved["closedAt"] is None
    assert closed["closedAt"]


def test_an_empty_update_is_a_400(workspace, owner_client):
    issue = SupportIssueFactory.create(workspace=workspace)

    assert_error(owner_client.put(_issue(issue), {}, format="json"), status=400, code="VALIDATION_ERROR")


def test_the_creator_is_emailed_when_someone_else_changes_the_status(
    workspace, member, member_of, django_capture_on_commit_callbacks
):
    issue = SupportIssueFactory.create(workspace=workspace, created_by=member)

    with django_capture_on_commit_callbacks(execute=True):
        member_of(workspace, "admin").put(_issue(issue), {"status": "resolved"}, format="json")

    (email,) = mail.outbox
    assert email.to == [member.email]
    assert "resolved" in email.subject and "went from open to resolved" in email.body


def test_nobody_is_emailed_about_their_own_status_change(
    workspace, member, member_client, django_capture_on_commit_callbacks
):
    issue = SupportIssueFactory.create(workspace=workspace, created_by=member)

    with django_capture_on_commit_callbacks(execute=True):
        member_client.put(_issue(issue), {"status": "closed"}, format="json")

    assert mail.outbox == []


def test_reading_an_issue_takes_two_queries(workspace, other_workspace, owner_client, django_assert_num_queries):
    issue = SupportIssueFactory.create(workspace=workspace)

    # the membership with its user (the JWT's), the issue (with its workspace)
    with django_assert_num_queries(2):
        owner_client.get(_issue(issue))


def test_a_suspended_workspace_can_still_open_an_issue(workspace, owner_client):
    workspace.status = "suspended"
    workspace.save()

    response = owner_client.post(
        _issues(workspace), {"title": "Billing lockout", "description": "We cannot pay"}, format="json"
    )

    assert response.status_code == 201
