"""Two concurrent requests with one Idempotency-Key, each on its own PostgreSQL connection: one effect."""

import threading

import pytest
from django.db import connection, connections
from django.test import Client

from support.models import SupportIssue
from tests.helpers import API, client_for
from tests.retries.test_idempotency import NEW_ISSUE, SIGN_UP
from workspaces.models import Workspace

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _needs_postgres():
    assert connection.vendor == "postgresql", "run with DATABASE_URL=postgres://… (make test-postgres)"


def _concurrently(send, times=2):
    barrier = threading.Barrier(times)
    responses, errors = [], []

    def run():
        try:
            barrier.wait()
            responses.append(send())
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return responses


def _one_effect(responses, status):
    """Each answer is the first one (replayed) or a 409 asking to retry; never a second effect."""
    statuses = sorted(response.status_code for response in responses)
    assert statuses in ([status, status], [status, 409]), [r.content for r in responses]
    bodies = {response.content for response in responses if response.status_code == status}
    assert len(bodies) == 1
    conflicts = [response for response in responses if response.status_code == 409]
    for response in conflicts:
        assert response.json()["error"] == "IDEMPOTENCY_REQUEST_IN_PROGRESS"


def test_two_concurrent_sign_ups_with_one_key_create_one_workspace():
    def sign_up():
        return Client().post(f"{API}/", SIGN_UP, content_type="application/json", HTTP_IDEMPOTENCY_KEY="race")

    responses = _concurrently(sign_up)

    _one_effect(responses, 201)
    assert Workspace.objects.count() == 1


def test_two_concurrent_support_issues_with_one_key_open_one(workspace):
    def open_issue():
        return client_for(workspace.owner).post(
            f"{API}/{workspace.slug}/support-issues", NEW_ISSUE, format="json", HTTP_IDEMPOTENCY_KEY="race"
        )

    responses = _concurrently(open_issue, times=4)

    statuses = [response.status_code for response in responses]
    assert set(statuses) <= {201, 409} and 201 in statuses, statuses
    assert len({response.content for response in responses if response.status_code == 201}) == 1
    assert SupportIssue.objects.filter(workspace=workspace).count() == 1
