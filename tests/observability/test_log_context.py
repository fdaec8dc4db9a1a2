"""The log lines of a request and of the tasks it queues carry one request id, the workspace, the
acting party and the task's name and id. Tasks run eagerly here (in-process, inside the request);
test_worker_observability.py shows the same through a real worker, where the request id travels
in the message's headers (centrali.celery.ContextTask)."""

import pytest

from tests.helpers import API

pytestmark = pytest.mark.django_db


def test_a_queued_tasks_lines_carry_the_request_id_the_workspace_and_the_task(
    workspace, owner_client, log_lines, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(f"{API}/{workspace.slug}/export", HTTP_X_REQUEST_ID="req-logged")

    assert response.status_code == 202
    task_lines = [line for line in log_lines() if line.get("task") == "workspaces.run_export"]
    assert [line["event"] for line in task_lines] == ["task_started", "task_finished"]
    assert {line["request_id"] for line in task_lines} == {"req-logged"}
    assert task_lines[0]["task_id"] == task_lines[1]["task_id"] != ""
    assert (task_lines[0]["actor_type"], task_lines[0]["actor_id"]) == ("system", "task:workspaces.run_export")
    assert task_lines[0]["workspace"] == workspace.slug


def test_each_requests_lines_name_its_own_workspace(
    workspace, other_workspace, log_lines, member_of, django_capture_on_commit_callbacks
):
    for tenant in (workspace, other_workspace):
        with django_capture_on_commit_callbacks(execute=True):
            member_of(tenant, "admin").post(f"{API}/{tenant.slug}/export", HTTP_X_REQUEST_ID=f"req-{tenant.slug}")

    for tenant in (workspace, other_workspace):
        lines = [line for line in log_lines() if line.get("request_id") == f"req-{tenant.slug}"]
        assert lines and {line.get("workspace") for line in lines} == {tenant.slug}
