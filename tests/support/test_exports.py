import pytest

from centrali.exports import export_sections
from support.services import add_internal_note
from tests.audit.helpers import add_event
from tests.support.factories import CommentFactory, StaffFactory, SupportIssueFactory

pytestmark = pytest.mark.django_db


def _section(name):
    return next(section for section in export_sections() if section.name == name)


def _export(name, workspace):
    section = _section(name)
    return [section.serialize(row) for row in section.queryset(workspace).iterator()]


def test_support_issues_are_in_the_export(workspace, other_workspace):
    issue = SupportIssueFactory(workspace=workspace, title="Exports stall")
    SupportIssueFactory(workspace=other_workspace)

    (row,) = _export("support_issues", workspace)

    assert (row["id"], row["summary"], row["status"]) == (issue.pk, "Exports stall", "open")


def test_comments_are_in_the_export_but_staff_internal_notes_are_not(workspace, other_workspace):
    issue = SupportIssueFactory(workspace=workspace)
    comment = CommentFactory(issue=issue, body="visible")
    add_internal_note(issue=issue, staff=StaffFactory(), body="staff only")
    CommentFactory(issue=SupportIssueFactory(workspace=other_workspace))

    rows = _export("support_comments", workspace)

    assert [(row["id"], row["comment"]) for row in rows] == [(comment.pk, "visible")]


def test_audit_events_are_in_the_export_with_their_hashes(workspace, other_workspace):
    first, second = add_event(workspace), add_event(workspace)
    add_event(other_workspace)

    rows = _export("audit_events", workspace)

    assert [row["id"] for row in rows] == [str(first.pk), str(second.pk)]
    assert rows[1]["previousHash"] == rows[0]["hash"] == first.entry_hash


def test_staff_only_audit_events_are_not_in_the_export(workspace):
    issue = SupportIssueFactory(workspace=workspace)
    add_internal_note(issue=issue, staff=StaffFactory(), body="staff only")

    assert [row["type"] for row in _export("audit_events", workspace)] == []
