import pytest

from centrali.exports import export_sections
from support.services import add_internal_note
from tests.support.factories import CommentFactory, StaffFactory, SupportIssueFactory

pytestmark = pytest.mark.django_db


def _section(name):
    return next(section for section in export_sections() if section.name == name)


def _export(name, workspace):
    section = _section(name)
    return [section.serialize(row) for row in section.queryset(workspace).iterator()]


def test_support_issues_are_in_the_export(workspace, other_workspace):
    issue = SupportIssueFactory.create(workspace=workspace, title="Exports stall")
    SupportIssueFactory.create(workspace=other_workspace)

    (row,) = _export("support_issues", workspace)

    assert (row["id"], row["summary"], row["status"]) == (issue.pk, "Exports stall", "open")
    assert set(row) == {
        "id",
        "summary",
        "description",
        "type",
        "priority",
        "status",
        "category",
        "created_by",
        "assigned_to",
        "created_at",
        "updated_at",
        "resolved_at",
        "closed_at",
    }
    assert row["created_at"].endswith("Z") and row["closed_at"] is None


def test_comments_are_in_the_export_but_staff_internal_notes_are_not(workspace, other_workspace):
    issue = SupportIssueFactory.create(workspace=workspace)
    comment = CommentFactory.create(issue=issue, body="visible")
    add_internal_note(issue=issue, staff=StaffFactory.create(), body="staff only")
    CommentFactory.create(issue=SupportIssueFactory.create(workspace=other_workspace))

    rows = _export("support_comments", workspace)

    assert [(row["id"], row["comment"]) for row in rows] == [(comment.pk, "visible")]
    assert set(rows[0]) == {
        "id",
        "issue_id",
        "comment",
        "type",
        "display_name",
        "author_id",
        "created_at",
        "edited_at",
    }


def test_staff_only_audit_events_are_not_in_the_export(workspace):
    issue = SupportIssueFactory.create(workspace=workspace)
    add_internal_note(issue=issue, staff=StaffFactory.create(), body="staff only")

    assert [row["type"] for row in _export("audit_events", workspace)] == []
