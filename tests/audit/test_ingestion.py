import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from audit.models import AuditEvent
from audit.selectors import verify_chain
from tests.helpers import API, assert_error

pytestmark = pytest.mark.django_db

URL = f"{API}/internal/audit-events"
SERVICE_TOKEN = "platform-service-token-for-tests"


@pytest.fixture
def service_client(settings):
    settings.PLATFORM_SERVICE_TOKEN = SERVICE_TOKEN
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {SERVICE_TOKEN}", HTTP_X_SERVICE_NAME="structures")
    return client


def _event(target, event_id="evt-1", **overrides):
    return {
        "eventId": event_id,
        "workspace": target.slug,
        "type": "structure.created",
        "resourceType": "structure",
        "resourceId": "str_1",
        "summary": "Structure 'orders' created",
        "actorId": "iam-user-7",
        "actorType": "user",
        "metadata": {"name": "orders"},
        "occurredAt": "2026-11-28T10:00:00Z",
        **overrides,
    }


def test_a_service_reports_a_batch_of_events(service_client, workspace, other_workspace):
    response = service_client.post(
        URL,
        {"events": [_event(workspace), _event(other_workspace, "evt-2", workspace=str(other_workspace.pk))]},
        format="json",
    )

    assert response.status_code == 200
    assert response.json() == {"accepted": ["evt-1", "evt-2"], "duplicates": []}
    event = AuditEvent.objects.get(event_id="evt-1")
    assert (event.workspace_id, event.type, event.resource_id) == (workspace.pk, "structure.created", "str_1")
    assert (event.actor_id, event.actor_type) == ("iam-user-7", "user")
    assert event.metadata == {"name": "orders", "reported_by": "structures"}
    assert event.created_at.isoformat() == "2026-11-28T10:00:00+00:00"
    assert AuditEvent.objects.get(event_id="evt-2").workspace_id == other_workspace.pk
    assert verify_chain(workspace_id=workspace.pk) is None


def test_a_redelivered_batch_records_nothing_twice(service_client, workspace):
    service_client.post(URL, {"events": [_event(workspace)]}, format="json")

    response = service_client.post(
        URL, {"events": [_event(workspace), _event(workspace, "evt-3"), _event(workspace, "evt-3")]}, format="json"
    )

    assert response.json() == {"accepted": ["evt-3"], "duplicates": ["evt-1", "evt-3"]}
    assert AuditEvent.objects.filter(workspace=workspace).count() == 2


def test_the_same_event_id_in_two_workspaces_is_two_events(service_client, workspace, other_workspace):
    service_client.post(URL, {"events": [_event(workspace)]}, format="json")

    response = service_client.post(URL, {"events": [_event(other_workspace)]}, format="json")

    assert response.json() == {"accepted": ["evt-1"], "duplicates": []}
    assert sorted(AuditEvent.objects.filter(event_id="evt-1").values_list("workspace", flat=True)) == sorted(
        [workspace.pk, other_workspace.pk]
    )


def test_one_batch_may_carry_the_same_event_id_for_two_workspaces(service_client, workspace, other_workspace):
    response = service_client.post(URL, {"events": [_event(workspace), _event(other_workspace)]}, format="json")

    assert response.json() == {"accepted": ["evt-1", "evt-1"], "duplicates": []}
    assert AuditEvent.objects.filter(event_id="evt-1").count() == 2


def test_ingested_events_show_in_the_resource_history(service_client, workspace, owner_client):
    service_client.post(URL, {"events": [_event(workspace)]}, format="json")

    body = owner_client.get(f"{API}/{workspace.slug}/audit/structure/str_1/history").json()

    assert [e["summary"] for e in body["entries"]] == ["Structure 'orders' created"]


def test_a_service_jwt_with_a_service_claim_is_accepted(workspace):
    token = AccessToken()
    token["service"] = "functions"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    response = client.post(URL, {"events": [_event(workspace)]}, format="json")

    assert response.status_code == 200
    assert AuditEvent.objects.get(event_id="evt-1").metadata["reported_by"] == "functions"


def test_a_members_token_is_refused(owner_client, workspace):
    response = owner_client.post(URL, {"events": [_event(workspace)]}, format="json")

    assert_error(response, status=401, code="INVALID_TOKEN")
    assert not AuditEvent.objects.filter(event_id="evt-1").exists()


def test_no_credentials_are_refused(api_client, workspace):
    assert_error(
        api_client.post(URL, {"events": [_event(workspace)]}, format="json"), status=401, code="UNAUTHENTICATED"
    )


def test_an_unknown_workspace_refuses_the_whole_batch(service_client, workspace):
    response = service_client.post(
        URL, {"events": [_event(workspace), _event(workspace, "evt-2", workspace="nope")]}, format="json"
    )

    body = assert_error(response, status=400, code="WORKSPACE_NOT_FOUND")
    assert list(body["details"]) == ["events.1.workspace"]
    assert not AuditEvent.objects.exists()


def test_a_service_cannot_forge_the_workspace_services_own_events(service_client, workspace):
    response = service_client.post(URL, {"events": [_event(workspace, type="workspace.deleted")]}, format="json")

    assert list(assert_error(response, status=400, code="VALIDATION_ERROR")["details"]) == ["events.0.type"]


def _nested(depth):
    value: object = "leaf"
    for _ in range(depth):
        value = {"k": value}
    return value


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"type": "Not Dotted"}, "events.0.type"),
        ({"eventId": ""}, "events.0.eventId"),
        ({"occurredAt": "yesterday"}, "events.0.occurredAt"),
        ({"actorType": "staff"}, "events.0.actorType"),
        ({"ipAddress": "999.1.1.1"}, "events.0.ipAddress"),
        ({"summary": "a\x00b"}, "events.0.summary"),
        ({"metadata": {"note": "a\x00b"}}, "events.0.metadata"),
        ({"metadata": {"blob": "x" * 20_000}}, "events.0.metadata"),
        ({"metadata": _nested(100)}, "events.0.metadata"),
    ],
)
def test_malformed_events_are_a_400_naming_the_field(service_client, workspace, overrides, field):
    response = service_client.post(URL, {"events": [_event(workspace, **overrides)]}, format="json")

    assert field in assert_error(response, status=400, code="VALIDATION_ERROR")["details"]


def test_an_empty_batch_is_a_400(service_client):
    assert_error(service_client.post(URL, {"events": []}, format="json"), status=400, code="VALIDATION_ERROR")
