"""Authorization reads the membership and the workspace as they are now: a change takes effect on
the very next request of a client that was just allowed (issue 12: the hot paths stay exact).
The caller, their membership, the workspace and its plan are loaded together in one query on every
request (workspaces.tenancy.WorkspaceMemberAuthentication); nothing of it is kept between requests."""

from rest_framework_simplejwt.tokens import AccessToken

from tests.factories import MembershipFactory
from tests.helpers import API, assert_error, client_for
from workspaces import services
from workspaces.models import Membership, Role


def test_a_removed_member_is_refused_on_the_next_request(workspace):
    membership = MembershipFactory.create(workspace=workspace, role=Role.MEMBER)
    client = client_for(membership.user)
    assert client.get(f"{API}/{workspace.slug}").status_code == 200

    membership.delete()

    assert_error(client.get(f"{API}/{workspace.slug}"), status=403, code="NOT_A_MEMBER")
    assert_error(client.get(f"{API}/{workspace.slug}/support-issues"), status=403, code="NOT_A_MEMBER")
    # a view whose membership read takes the billing terms too
    assert_error(client.get(f"{API}/{workspace.slug}/usage/current"), status=403, code="NOT_A_MEMBER")


def test_a_lowered_role_refuses_the_next_write(workspace):
    membership = MembershipFactory.create(workspace=workspace, role=Role.ADMIN)
    client = client_for(membership.user)
    assert client.put(f"{API}/{workspace.slug}", {"description": "By an admin"}, format="json").status_code == 200

    Membership.objects.filter(pk=membership.pk).update(role=Role.MEMBER)

    response = client.put(f"{API}/{workspace.slug}", {"description": "By a member"}, format="json")
    assert_error(response, status=403, code="INSUFFICIENT_ROLE")
    assert client.get(f"{API}/{workspace.slug}").json()["role"] == "member"


def test_a_suspended_workspace_refuses_the_next_write_and_still_reads(workspace, owner_client):
    assert owner_client.put(f"{API}/{workspace.slug}", {"description": "Before"}, format="json").status_code == 200

    services.suspend_workspace(workspace=workspace, reason="Invoice uncollectible")

    response = owner_client.put(f"{API}/{workspace.slug}", {"description": "After"}, format="json")
    assert_error(response, status=403, code="WORKSPACE_SUSPENDED")
    assert owner_client.get(f"{API}/{workspace.slug}").json()["status"] == "suspended"


def test_a_soft_deleted_workspace_refuses_the_next_write_and_still_reads(workspace, owner_client):
    assert owner_client.put(f"{API}/{workspace.slug}", {"description": "Before"}, format="json").status_code == 200

    services.soft_delete_workspace(workspace=workspace)

    response = owner_client.put(f"{API}/{workspace.slug}", {"description": "After"}, format="json")
    assert_error(response, status=400, code="WORKSPACE_PENDING_DELETION")
    body = owner_client.get(f"{API}/{workspace.slug}").json()
    assert (body["status"], body["deleted_at"] is not None) == ("cancelled", True)


def test_a_deactivated_member_is_unauthenticated_on_the_next_request(workspace):
    membership = MembershipFactory.create(workspace=workspace, role=Role.MEMBER)
    client = client_for(membership.user)
    assert client.get(f"{API}/{workspace.slug}").status_code == 200

    type(membership.user).objects.filter(pk=membership.user.pk).update(is_active=False)

    assert_error(client.get(f"{API}/{workspace.slug}"), status=401, code="INVALID_TOKEN")


def test_a_member_of_another_workspace_is_refused_here(workspace, other_workspace):
    client = client_for(other_workspace.owner)

    assert_error(client.get(f"{API}/{workspace.slug}"), status=403, code="NOT_A_MEMBER")
    assert_error(client.get(f"{API}/no-such-workspace"), status=404, code="WORKSPACE_NOT_FOUND")


def _token_of_subject(subject):
    token = AccessToken()
    token["sub"] = subject
    return str(token)


def test_a_token_of_a_deleted_or_malformed_subject_is_unauthenticated(workspace, api_client):
    for subject in ("0f0e0d0c-0b0a-4908-8706-050403020100", "not-a-uuid"):
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {_token_of_subject(subject)}")

        assert_error(api_client.get(f"{API}/{workspace.slug}"), status=401, code="INVALID_TOKEN")
