"""A purge erases the people it leaves in no workspace, everywhere, and its tombstone still answers
"was this customer here?" for someone who knows the owner's email."""

from datetime import UTC, datetime, timedelta

import pytest

from audit.models import AuditEvent
from privacy.selectors import purged_workspaces_of
from support.models import Comment
from tests.command_helpers import run_command
from tests.factories import MembershipFactory, WorkspaceFactory
from tests.support.factories import CommentFactory, SupportIssueFactory
from workspaces.models import User

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def purge():
    done = run_command("purge_deleted_workspaces", "--now", NOW.isoformat())
    assert done.status == 0, done


def due_workspace(**kwargs):
    deadline = NOW - timedelta(days=1)
    return WorkspaceFactory.create(
        status="cancelled", deleted_at=deadline - timedelta(days=30), restore_deadline=deadline, **kwargs
    )


def test_a_person_left_in_no_workspace_is_erased_in_the_workspaces_they_left_too():
    due = due_workspace()
    leaver = MembershipFactory.create(workspace=due).user
    elsewhere = WorkspaceFactory.create()
    comment = CommentFactory.create(issue=SupportIssueFactory.create(workspace=elsewhere), author=leaver)

    purge()

    assert not User.objects.filter(pk=leaver.pk).exists()
    erased = Comment.objects.get(pk=comment.pk)
    assert (erased.author_id, erased.display_name) == (None, "erased user")
    assert AuditEvent.objects.filter(workspace=elsewhere, type="person.erased").count() == 1


def test_the_tombstone_answers_whether_an_email_owned_a_workspace():
    due = due_workspace(owner__email="olga@gone.test")
    due_workspace(owner__email="peter@gone.test")

    purge()

    assert [t.workspace_id for t in purged_workspaces_of(email=" Olga@Gone.test ")] == [due.pk]
    assert not purged_workspaces_of(email="nobody@gone.test").exists()
