"""Factories shared by every app's tests. App-specific factories live beside that app's tests.

`WorkspaceFactory()` and `WorkspaceFactory.create()` do the same; the type checker knows that
`.create()` returns a Workspace, so typed code uses that spelling.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import factory
from django.utils import timezone

from billing.models import Plan
from workspaces.models import Membership, Role, User, Workspace

TEST_PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password(TEST_PASSWORD)


def _add_owner_membership(workspace: Workspace, create: bool, extracted: Any, **kwargs: Any) -> None:
    if create:
        Membership.objects.create(workspace=workspace, user=workspace.owner, role=Role.OWNER)


class WorkspaceFactory(factory.django.DjangoModelFactory[Workspace]):
    """A workspace with its owner membership, on the free plan."""

    class Meta:
        model = Workspace
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Workspace {n}")
    slug = factory.Sequence(lambda n: f"workspace-{n}")
    owner = factory.SubFactory(UserFactory)
    plan = factory.LazyFunction(lambda: Plan.objects.get(code="free"))
    owner_membership = factory.PostGeneration(_add_owner_membership)

    class Params:
        pending_deletion = factory.Trait(
            status="cancelled",
            deleted_at=factory.LazyFunction(timezone.now),
            restore_deadline=factory.LazyFunction(lambda: timezone.now() + timedelta(days=30)),
        )


class MembershipFactory(factory.django.DjangoModelFactory[Membership]):
    class Meta:
        model = Membership

    workspace = factory.SubFactory(WorkspaceFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.MEMBER
