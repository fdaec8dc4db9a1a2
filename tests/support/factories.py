"""Factories of the support app's rows. As in tests.factories, typed code spells `Factory.create()`:
the type checker knows it returns the model."""

import factory

from support.models import Comment, CommentKind, SupportIssue
from tests.factories import UserFactory, WorkspaceFactory


class SupportIssueFactory(factory.django.DjangoModelFactory[SupportIssue]):
    class Meta:
        model = SupportIssue

    workspace = factory.SubFactory(WorkspaceFactory)
    title = factory.Sequence(lambda n: f"Issue {n}")
    description = "Something is not right."
    created_by = factory.LazyAttribute(lambda issue: issue.workspace.owner)


class CommentFactory(factory.django.DjangoModelFactory[Comment]):
    class Meta:
        model = Comment

    issue = factory.SubFactory(SupportIssueFactory)
    author = factory.LazyAttribute(lambda comment: comment.issue.created_by)
    kind = CommentKind.COMMENT
    body = factory.Sequence(lambda n: f"Comment {n}")
    display_name = factory.LazyAttribute(lambda comment: comment.author.username)


class StaffFactory(UserFactory):
    is_staff = True
    first_name = "Sam"
    last_name = "Staff"
