"""The acting context: one request id, client address and actor from the request to the audit log
and to the tasks the request queues (centrali.context)."""

import uuid

import pytest
from django.core.management import call_command

from audit.models import AuditEvent
from centrali.commands import OperatorCommand
from centrali.context import ActionContext, current_context
from tests.helpers import API, assert_error

pytestmark = pytest.mark.django_db


def test_a_callers_request_id_is_echoed_in_the_header_and_the_error_body(api_client):
    response = api_client.get(f"{API}/some-slug", HTTP_X_REQUEST_ID="req-123")

    body = assert_error(response, status=401, code="UNAUTHENTICATED")
    assert response["X-Request-ID"] == body["requestId"] == "req-123"


def test_without_one_each_request_gets_a_new_uuid(api_client):
    first = api_client.get(f"{API}/version")["X-Request-ID"]
    second = api_client.get(f"{API}/version")["X-Request-ID"]

    assert uuid.UUID(first).version == 4
    assert first != second


@pytest.mark.parametrize("unsafe", ["bad id\nwith newline", "x" * 129, "a b", "é"])
def test_an_unsafe_request_id_is_replaced_by_a_new_uuid_in_header_and_body(api_client, unsafe):
    response = api_client.get(f"{API}/some-slug", HTTP_X_REQUEST_ID=unsafe)

    body = assert_error(response, status=401, code="UNAUTHENTICATED")
    assert uuid.UUID(response["X-Request-ID"]).version == 4
    assert body["requestId"] == response["X-Request-ID"]


def test_a_write_is_audited_with_the_callers_request_id_address_agent_and_identity(workspace, owner_client):
    response = owner_client.put(
        f"{API}/{workspace.slug}",
        {"name": "Renamed"},
        format="json",
        HTTP_X_REQUEST_ID="req-put-1",
        HTTP_USER_AGENT="console/1.0",
        REMOTE_ADDR="198.51.100.7",
    )

    assert response.status_code == 200
    event = AuditEvent.objects.get(workspace=workspace, type="workspace.updated")
    assert (event.request_id, event.ip_address, event.user_agent) == ("req-put-1", "198.51.100.7", "console/1.0")
    assert (event.actor_type, event.actor_id) == ("user", str(workspace.owner.pk))


def test_a_task_queued_by_a_request_runs_as_the_system_under_that_request_id(
    workspace, other_workspace, owner_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(f"{API}/{workspace.slug}/export", HTTP_X_REQUEST_ID="req-export-1")

    assert response.status_code == 202
    requested = AuditEvent.objects.get(workspace=workspace, type="export.requested")
    completed = AuditEvent.objects.get(workspace=workspace, type="export.completed")
    assert (requested.actor_type, requested.request_id) == ("user", "req-export-1")
    assert (completed.actor_type, completed.request_id) == ("system", "req-export-1")
    assert not AuditEvent.objects.filter(workspace=other_workspace, request_id="req-export-1").exists()


def test_the_context_ends_with_its_request(workspace, owner_client):
    owner_client.get(f"{API}/{workspace.slug}", HTTP_X_REQUEST_ID="req-ends")

    assert current_context().request_id != "req-ends"
    assert current_context().actor is None


class _ContextProbe(OperatorCommand):
    seen: ActionContext | None = None

    def handle(self, *args, **options):
        type(self).seen = current_context()


def test_a_management_command_acts_as_the_system_under_a_request_id_of_its_own():
    call_command(_ContextProbe())

    seen = _ContextProbe.seen
    assert seen is not None
    assert (seen.resolved_actor_type, seen.actor_id) == ("system", "command:test_request_context")
    assert uuid.UUID(seen.request_id)
    assert current_context().request_id != seen.request_id
