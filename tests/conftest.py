"""Fixtures every test may use: the plan catalogue, tenants, authenticated API clients, a broker
that is down; and the end-to-end harness (tests/e2e/harness.py) as a plugin."""

import socket

import pytest
from rest_framework.test import APIClient

from billing.catalogue import seed_plan_catalogue
from billing.models import Plan
from centrali.celery import app as celery_app
from tests.factories import MembershipFactory, WorkspaceFactory
from tests.helpers import client_for

pytest_plugins = ["tests.e2e.harness"]


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.RATE_LIMITS = {}
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.API_CALL_METERING_FLUSH_SECONDS = 0  # a call's count is in the cache when it answers


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


@pytest.fixture
def closed_port():
    """A loopback port nothing listens on (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def broker_at():
    """broker_at(url): publish tasks for real (not eagerly) to the broker at `url`."""
    keys = ("task_always_eager", "broker_url", "broker_connection_timeout")
    previous = {key: celery_app.conf[key] for key in keys}

    def use(url):
        celery_app.conf.update(task_always_eager=False, broker_url=url, broker_connection_timeout=1)
        # Drop pooled connections/producers bound to the previous broker URL (what Celery does after a fork).
        celery_app._after_fork()  # type: ignore[attr-defined]

    yield use
    celery_app.conf.update(previous)
    celery_app._after_fork()  # type: ignore[attr-defined]
