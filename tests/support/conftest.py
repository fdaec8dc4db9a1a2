import pytest
from django.contrib.auth.models import Group, Permission

from support.roles import sync_support_group
from tests.factories import MembershipFactory
from tests.helpers import client_for
from tests.support.factories import StaffFactory


@pytest.fixture
def support_group(db):
    """The group migration 0002 creates (tests run without migrations)."""
    return sync_support_group(group_model=Group, permission_model=Permission)


@pytest.fixture
def support_staff(support_group):
    staff = StaffFactory.create(email="sam@centrali.test")
    staff.groups.add(support_group)
    return staff


@pytest.fixture
def console(client, support_staff):
    """Django's test client logged in to the admin as a member of the Support group."""
    client.force_login(support_staff)
    return client


@pytest.fixture
def member(workspace):
    return MembershipFactory.create(workspace=workspace, role="member").user


@pytest.fixture
def member_client(member):
    return client_for(member)
