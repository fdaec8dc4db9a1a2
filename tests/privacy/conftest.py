"""A person with traces in two workspaces, and a bystander (another person, another tenant) whose
data must come out of an erasure and an export untouched."""

from dataclasses import dataclass

import pytest

from support.models import Comment, SupportIssue
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory
from tests.helpers import API, client_for
from workspaces import storage as workspace_storage
from workspaces.models import User, Workspace

USER_AGENT = "AdaBrowser/7.3 (privacy-test)"
IP_ADDRESS = "203.0.113.77"


@dataclass
class Traces:
    person: User
    home: Workspace  # the person is an admin here, opened an issue and commented
    other: Workspace  # the person is a plain member here, and commented on someone else's issue
    issue: SupportIssue
    comment: Comment
    foreign_issue: SupportIssue
    foreign_comment: Comment


def _as(user):
    client = client_for(user)
    client.defaults.update(HTTP_USER_AGENT=USER_AGENT, REMOTE_ADDR=IP_ADDRESS)
    return client


@pytest.fixture
def person():
    return UserFactory.create(
        username="ada-lovelace-7f3", email="ada.lovelace.7f3@acme-corp.test", first_name="Ada", last_name="Lovelace"
    )


@pytest.fixture
def traces(person):
    home = WorkspaceFactory.create(slug="acme-home")
    other = WorkspaceFactory.create(slug="beta-other")
    MembershipFactory.create(workspace=home, user=person, role="admin")
    MembershipFactory.create(workspace=other, user=person, role="member")
    client = _as(person)
    issue_id = client.post(
        f"{API}/{home.slug}/support-issues",
        {"title": "Exports are slow", "description": "It takes an hour."},
        format="json",
    ).json()["id"]
    comment_id = client.post(
        f"{API}/{home.slug}/support-issues/{issue_id}/comments", {"comment": "Still slow."}, format="json"
    ).json()["id"]
    owner_client = client_for(other.owner)
    foreign_issue_id = owner_client.post(
        f"{API}/{other.slug}/support-issues", {"title": "Billing question", "description": "VAT?"}, format="json"
    ).json()["id"]
    client.post(f"{API}/{other.slug}/support-issues/{foreign_issue_id}/comments", {"comment": "Me too."}, format="json")
    foreign_comment_id = owner_client.post(
        f"{API}/{other.slug}/support-issues/{foreign_issue_id}/comments", {"comment": "Thanks."}, format="json"
    ).json()["id"]
    return Traces(
        person=person,
        home=home,
        other=other,
        issue=SupportIssue.objects.get(pk=issue_id),
        comment=Comment.objects.get(pk=comment_id),
        foreign_issue=SupportIssue.objects.get(pk=foreign_issue_id),
        foreign_comment=Comment.objects.get(pk=foreign_comment_id),
    )


@pytest.fixture
def bystander():
    """Another person in another tenant, with an issue and a comment of their own."""
    workspace = WorkspaceFactory.create(slug="gamma-bystander")
    user = MembershipFactory.create(workspace=workspace, user__username="grace-bystander-9c1").user
    client = client_for(user)
    issue_id = client.post(
        f"{API}/{workspace.slug}/support-issues", {"title": "Grace's issue", "description": "Hello."}, format="json"
    ).json()["id"]
    client.post(f"{API}/{workspace.slug}/support-issues/{issue_id}/comments", {"comment": "Grace here."}, format="json")
    return user


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory.create(is_staff=True, is_superuser=True, username="staff-sam"))
    return client


@pytest.fixture
def workspace_files():
    return workspace_storage.workspace_files()
