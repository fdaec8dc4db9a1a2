"""Provisioning: one task per service when a workspace is created, retries with backoff, manual retry."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from freezegun import freeze_time

from audit.models import AuditEvent
from tests.factories import WorkspaceFactory
from tests.helpers import API, assert_error, client_for
from workspaces import services, tasks
from workspaces.models import ServiceProvisioning, Workspace

pytestmark = pytest.mark.django_db

SIGN_UP = {
    "name": "Acme Robotics",
    "email": "ada@acme.test",
    "username": "ada",
    "password": "a-long-and-unusual-passphrase",
    "passwordConfirmation": "a-long-and-unusual-passphrase",
}


def sign_up(api_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(f"{API}/", SIGN_UP, format="json")
    assert response.status_code == 201, response.content
    return Workspace.objects.get(pk=response.json()["workspace"]["id"])


def statuses(workspace):
    return dict(ServiceProvisioning.objects.filter(workspace=workspace).values_list("service", "status"))


def test_sign_up_provisions_every_registered_service(api_client, platform_service, django_capture_on_commit_callbacks):
    workspace = sign_up(api_client, django_capture_on_commit_callbacks)

    assert statuses(workspace) == {"storage": "ready", "compute": "ready"}


def test_nothing_is_enqueued_before_the_workspace_commits(
    api_client, platform_service, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        api_client.post(f"{API}/", SIGN_UP, format="json")

    assert len(callbacks) == 1
    assert set(statuses(Workspace.objects.get())).issubset({"storage", "compute"})
    assert set(statuses(Workspace.objects.get()).values()) == {"pending"}
    assert platform_service.requests == []


def test_http_provisioner_posts_workspace_plan_and_idempotency_key(
    api_client, platform_service, django_capture_on_commit_callbacks
):
    workspace = sign_up(api_client, django_capture_on_commit_callbacks)

    [call] = platform_service.calls_for("compute")
    assert call["body"] == {
        "workspace_id": str(workspace.pk),
        "slug": workspace.slug,
        "plan": "free",
        "service": "compute",
    }
    assert call["headers"]["Idempotency-Key"] == f"workspace-{workspace.pk}-compute"
    assert call["headers"]["Authorization"] == "Bearer platform-token"


def test_storage_provisioner_creates_the_workspace_area(
    api_client, platform_service, django_capture_on_commit_callbacks, workspace_files
):
    workspace = sign_up(api_client, django_capture_on_commit_callbacks)

    assert workspace_files.exists(f"workspaces/{workspace.pk}/.area")


def test_transient_failures_are_retried_until_the_service_answers(
    api_client, platform_service, django_capture_on_commit_callbacks
):
    platform_service.fail_first(2)

    workspace = sign_up(api_client, django_capture_on_commit_callbacks)

    compute = ServiceProvisioning.objects.get(workspace=workspace, service="compute")
    assert (compute.status, compute.attempts, compute.last_error) == ("ready", 3, "")
    keys = {call["headers"]["Idempotency-Key"] for call in platform_service.calls_for("compute")}
    assert len(platform_service.calls_for("compute")) == 3 and len(keys) == 1


def test_a_service_that_keeps_failing_ends_failed_with_its_last_error(
    api_client, platform_service, django_capture_on_commit_callbacks
):
    platform_service.fail_always(503)

    workspace = sign_up(api_client, django_capture_on_commit_callbacks)

    compute = ServiceProvisioning.objects.get(workspace=workspace, service="compute")
    assert compute.status == "failed"
    assert compute.attempts == 3  # PROVISIONING_MAX_ATTEMPTS in the fixture
    assert "HTTP 503" in compute.last_error and "Gave up after 3 attempts" in compute.last_error


def test_a_rejected_request_fails_at_once_without_retrying(
    api_client, platform_service, django_capture_on_commit_callbacks
):
    platform_service.fail_always(422)

    workspace = sign_up(api_client, django_capture_on_commit_callbacks)

    compute = ServiceProvisioning.objects.get(workspace=workspace, service="compute")
    assert (compute.status, compute.attempts) == ("failed", 1)
    assert "HTTP 422" in compute.last_error


def test_the_error_members_can_read_leaves_out_the_services_answer(
    api_client, platform_service, django_capture_on_commit_callbacks
):
    platform_service.fail_always(422)

    workspace = sign_up(api_client, django_capture_on_commit_callbacks)

    compute = ServiceProvisioning.objects.get(workspace=workspace, service="compute")
    assert "unavailable" not in compute.last_error


def test_a_call_that_times_out_is_retried(settings, api_client, platform_service, django_capture_on_commit_callbacks):
    settings.WORKSPACE_PROVISIONERS["compute"]["timeout"] = 0.2
    platform_service.hang_first(1)

    workspace = sign_up(api_client, django_capture_on_commit_callbacks)

    compute = ServiceProvisioning.objects.get(workspace=workspace, service="compute")
    assert (compute.status, compute.attempts) == ("ready", 2)
    assert len(platform_service.calls_for("compute")) == 2


def test_an_unreachable_service_is_a_transient_failure(
    settings, api_client, django_capture_on_commit_callbacks, closed_port
):
    settings.WORKSPACE_PROVISIONERS = {
        "search": {"class": "workspaces.provisioning.HttpProvisioner", "url": f"http://127.0.0.1:{closed_port}/search"}
    }
    settings.PROVISIONING_MAX_ATTEMPTS = 2

    workspace = sign_up(api_client, django_capture_on_commit_callbacks)

    search = ServiceProvisioning.objects.get(workspace=workspace, service="search")
    assert (search.status, search.attempts) == ("failed", 2)
    assert "ConnectionError" in search.last_error


@pytest.mark.parametrize("attempt", [1, 2, 3, 8, 20])
def test_backoff_is_exponential_with_full_jitter_up_to_a_bound(settings, attempt):
    settings.PROVISIONING_RETRY_BACKOFF_SECONDS = 2.0
    settings.PROVISIONING_RETRY_BACKOFF_MAX_SECONDS = 60.0
    ceiling = min(60.0, 2.0 * 2 ** (attempt - 1))

    delays = [tasks.retry_delay(attempt) for _ in range(200)]

    assert all(0 <= delay <= ceiling for delay in delays)
    assert max(delays) > ceiling / 2  # jitter spreads over the whole window, not a fixed delay


# --- GET /{slug}/provision-status


def test_status_lists_each_service_and_derives_the_overall_status(
    api_client, platform_service, django_capture_on_commit_callbacks, other_workspace
):
    platform_service.fail_always(503)
    workspace = sign_up(api_client, django_capture_on_commit_callbacks)
    ServiceProvisioning.objects.create(
        workspace=other_workspace, service="compute", status="ready", ready_at=timezone.now()
    )

    response = client_for(workspace.owner).get(f"{API}/{workspace.slug}/provision-status")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"workspace_slug", "status", "services", "updated_at", "details"}
    assert body["workspace_slug"] == workspace.slug
    assert body["status"] == "failed"
    assert body["services"] == {"compute": "failed", "storage": "ready"}
    assert body["updated_at"].endswith("Z")
    assert body["details"]["compute"]["attempts"] == 3
    assert "HTTP 503" in body["details"]["compute"]["lastError"]


@pytest.mark.parametrize(
    "rows,overall",
    [
        ({}, "ready"),
        ({"storage": "ready", "compute": "ready"}, "ready"),
        ({"storage": "ready", "compute": "pending"}, "pending"),
        ({"storage": "ready", "compute": "provisioning"}, "provisioning"),
        ({"storage": "provisioning", "compute": "failed"}, "failed"),
    ],
)
def test_overall_status(workspace, owner_client, rows, overall):
    for service, status in rows.items():
        ServiceProvisioning.objects.create(
            workspace=workspace, service=service, status=status, ready_at=timezone.now() if status == "ready" else None
        )

    assert owner_client.get(f"{API}/{workspace.slug}/provision-status").json()["status"] == overall


def test_any_member_may_read_the_status(workspace, member_of):
    response = member_of(workspace, "member").get(f"{API}/{workspace.slug}/provision-status")

    assert response.status_code == 200


def test_status_of_another_workspace_is_forbidden(workspace, other_workspace):
    response = client_for(workspace.owner).get(f"{API}/{other_workspace.slug}/provision-status")

    assert_error(response, status=403, code="NOT_A_MEMBER")


def test_status_is_one_query_after_authorization(workspace, owner_client, django_assert_num_queries):
    for service in ("storage", "compute", "search"):
        ServiceProvisioning.objects.create(workspace=workspace, service=service)

    with django_assert_num_queries(2):  # the membership (with its user, workspace and plan), the services
        response = owner_client.get(f"{API}/{workspace.slug}/provision-status")

    assert response.status_code == 200


# --- POST /{slug}/provision-status/retry


def test_retry_requeues_a_failed_service_which_then_succeeds(
    api_client, platform_service, django_capture_on_commit_callbacks
):
    platform_service.fail_always(503)
    workspace = sign_up(api_client, django_capture_on_commit_callbacks)
    platform_service.recover()

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(workspace.owner).post(
            f"{API}/{workspace.slug}/provision-status/retry", {"service": "compute"}, format="json"
        )

    assert response.status_code == 200, response.content
    assert response.json() == {
        "message": "Provisioning of 'compute' has been queued again.",
        "workspace_slug": workspace.slug,
        "service": "compute",
        "status": "pending",
    }
    compute = ServiceProvisioning.objects.get(workspace=workspace, service="compute")
    assert (compute.status, compute.attempts, compute.last_error) == ("ready", 1, "")
    event = AuditEvent.objects.get(workspace=workspace, type="provisioning.retried")
    assert event.resource_id == "compute" and event.metadata["previous_attempts"] == 3


def test_retry_of_a_service_this_deployment_lacks_is_a_validation_error(workspace, owner_client):
    response = owner_client.post(
        f"{API}/{workspace.slug}/provision-status/retry", {"service": "teleport"}, format="json"
    )

    body = assert_error(response, status=400, code="VALIDATION_ERROR")
    assert body["details"]["service"] == ['"teleport" is not a valid choice; valid: storage.']


def test_retry_of_a_service_the_workspace_never_got_is_a_400(workspace, owner_client, settings):
    settings.WORKSPACE_PROVISIONERS = {**settings.WORKSPACE_PROVISIONERS, "compute": {"class": "x.Registered"}}

    response = owner_client.post(
        f"{API}/{workspace.slug}/provision-status/retry", {"service": "compute"}, format="json"
    )

    body = assert_error(response, status=400, code="UNKNOWN_SERVICE")
    assert "service" in body["details"]


def test_retry_of_a_service_that_has_not_failed_is_a_400(workspace, owner_client):
    ServiceProvisioning.objects.create(workspace=workspace, service="storage", status="ready", ready_at=timezone.now())

    response = owner_client.post(
        f"{API}/{workspace.slug}/provision-status/retry", {"service": "storage"}, format="json"
    )

    body = assert_error(response, status=400, code="SERVICE_NOT_FAILED")
    assert "service" in body["details"]
    assert ServiceProvisioning.objects.get(workspace=workspace).status == "ready"


def test_retry_without_a_service_is_a_validation_error(workspace, owner_client):
    response = owner_client.post(f"{API}/{workspace.slug}/provision-status/retry", {}, format="json")

    body = assert_error(response, status=400, code="VALIDATION_ERROR")
    assert "service" in body["details"]


def test_retry_of_another_workspaces_service_is_unknown_here(workspace, owner_client, other_workspace, settings):
    settings.WORKSPACE_PROVISIONERS = {**settings.WORKSPACE_PROVISIONERS, "compute": {"class": "x.Registered"}}
    ServiceProvisioning.objects.create(workspace=other_workspace, service="compute", status="failed")

    response = owner_client.post(
        f"{API}/{workspace.slug}/provision-status/retry", {"service": "compute"}, format="json"
    )

    assert_error(response, status=400, code="UNKNOWN_SERVICE")
    assert ServiceProvisioning.objects.get(workspace=other_workspace).status == "failed"


@pytest.mark.parametrize("role", ["member", "billing"])
def test_only_owners_and_admins_may_retry(workspace, member_of, role):
    ServiceProvisioning.objects.create(workspace=workspace, service="compute", status="failed")

    response = member_of(workspace, role).post(
        f"{API}/{workspace.slug}/provision-status/retry", {"service": "compute"}, format="json"
    )

    assert_error(response, status=403, code="INSUFFICIENT_ROLE")


# --- stalled provisioning and broker outages


def test_sweeper_requeues_services_stalled_past_the_threshold(settings, platform_service):
    settings.PROVISIONING_STALLED_AFTER = timedelta(minutes=15)
    with freeze_time("2026-03-01T10:00:00Z"):
        stalled_workspace, fresh_workspace = WorkspaceFactory.create(), WorkspaceFactory.create()
        ServiceProvisioning.objects.create(workspace=stalled_workspace, service="compute")
    with freeze_time("2026-03-01T10:20:00Z"):
        ServiceProvisioning.objects.create(workspace=fresh_workspace, service="compute")

        requeued = services.sweep_stalled_provisioning(now=timezone.now())

    assert requeued == 1
    assert ServiceProvisioning.objects.get(workspace=stalled_workspace).status == "ready"
    assert ServiceProvisioning.objects.get(workspace=fresh_workspace).status == "pending"


@pytest.mark.django_db(transaction=True)
def test_sign_up_still_succeeds_when_the_broker_is_down(api_client, platform_service, broker_at, closed_port):
    broker_at(f"redis://127.0.0.1:{closed_port}/0")

    response = api_client.post(f"{API}/", SIGN_UP, format="json")

    assert response.status_code == 201, response.content
    workspace = Workspace.objects.get(pk=response.json()["workspace"]["id"])
    assert statuses(workspace) == {"storage": "pending", "compute": "pending"}  # the sweeper enqueues them later


# --- services added to the registry later


def test_provision_workspaces_adds_a_newly_registered_service_to_existing_workspaces(
    platform_service, django_capture_on_commit_callbacks
):
    existing = WorkspaceFactory.create()
    ServiceProvisioning.objects.create(workspace=existing, service="storage", status="ready", ready_at=timezone.now())
    deleted = WorkspaceFactory.create(pending_deletion=True)
    out = io.StringIO()

    with django_capture_on_commit_callbacks(execute=True):
        call_command("provision_workspaces", stdout=out)

    assert statuses(existing) == {"storage": "ready", "compute": "ready"}
    assert statuses(deleted) == {}  # a workspace pending deletion gets nothing new
    assert f"{existing.slug}: compute" in out.getvalue()


def test_provision_workspaces_can_be_limited_to_some_workspaces(platform_service, django_capture_on_commit_callbacks):
    chosen, other = WorkspaceFactory.create(), WorkspaceFactory.create()

    with django_capture_on_commit_callbacks(execute=True):
        call_command("provision_workspaces", chosen.slug, stdout=io.StringIO())

    assert statuses(chosen) == {"storage": "ready", "compute": "ready"}
    assert statuses(other) == {}
