"""Fixtures every test may use: the plan catalogue, tenants, and authenticated API clients."""

import pytest
from rest_framework.test import APIClient

from billing.catalogue import seed_plan_catalogue
from billing.models import Plan
from tests.factories import MembershipFactory, WorkspaceFactory
from tests.helpers import client_for


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.RATE_LIMITS = {}
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def _celery_runs_tasks_eagerly():
    """Tasks published by any test (e.g. provisioning when a workspace commits) run in-process,
    never reaching a real broker. The e2e harness (tests/e2e) turns this off for its real worker."""
    from centrali.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def plan_catalogue(db):
    """The seeded catalogue (tests run without migrations, so seed it the same way)."""
    seed_plan_catalogue(Plan)


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def workspace():
    return WorkspaceFactory()


@pytest.fixture
def other_workspace():
    """The second tenant: its data must never appear in the first one's answers."""
    return WorkspaceFactory()


@pytest.fixture
def owner_client(workspace):
    return client_for(workspace.owner)


@pytest.fixture
def member_of():
    """member_of(workspace, role) -> an APIClient authenticated as a new member with that role."""

    def make(workspace, role="member"):
        return client_for(MembershipFactory(workspace=workspace, role=role).user)

    return make
