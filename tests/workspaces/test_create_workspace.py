import jwt
import pytest
from django.conf import settings

from audit.models import AuditEvent
from tests.factories import UserFactory, WorkspaceFactory
from tests.helpers import API, assert_error
from workspaces.models import Membership, User, Workspace

pytestmark = pytest.mark.django_db

VALID = {
    "name": "Acme Robotics",
    "email": "ada@acme.test",
    "username": "ada",
    "password": "a-long-and-unusual-passphrase",
    "passwordConfirmation": "a-long-and-unusual-passphrase",
    "description": "Robots, mostly.",
}


def test_creates_owner_workspace_and_membership_on_free_plan(api_client):
    response = api_client.post(f"{API}/", VALID, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["workspace"]["slug"] == "acme-robotics"
    assert body["workspace"]["plan"] == "free"
    assert body["workspace"]["status"] == "active"
    assert body["workspace"]["created_at"].endswith("Z")
    owner = User.objects.get(pk=body["user_id"])
    workspace = Workspace.objects.get(pk=body["workspace"]["id"])
    assert workspace.owner == owner and owner.email == "ada@acme.test"
    assert Membership.objects.get(workspace=workspace).role == "owner"
    assert owner.check_password(VALID["password"])


def test_auth_token_is_a_jwt_for_the_owner_that_the_api_accepts(api_client):
    body = api_client.post(f"{API}/", VALID, format="json").json()

    claims = jwt.decode(body["auth_token"], settings.SIMPLE_JWT["SIGNING_KEY"], algorithms=["HS256"])
    assert claims["sub"] == body["user_id"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['auth_token']}")
    assert api_client.get(f"{API}/acme-robotics").status_code == 200


def test_records_creation_in_the_audit_log(api_client):
    body = api_client.post(f"{API}/", VALID, format="json").json()

    types = set(AuditEvent.objects.filter(workspace_id=body["workspace"]["id"]).values_list("type", flat=True))
    assert types == {"workspace.created", "member.added"}


def test_slug_collision_gets_a_suffix(api_client):
    WorkspaceFactory.create(slug="acme-robotics")

    body = api_client.post(f"{API}/", VALID, format="json").json()

    assert body["workspace"]["slug"] == "acme-robotics-2"


@pytest.mark.parametrize("name", ["Metrics", "version", "Admin", "Webhooks"])
def test_reserved_names_never_become_a_slug(api_client, name):
    body = api_client.post(f"{API}/", {**VALID, "name": name}, format="json").json()

    assert body["workspace"]["slug"] == f"{name.lower()}-workspace"


def test_password_confirmation_must_match(api_client):
    response = api_client.post(f"{API}/", {**VALID, "passwordConfirmation": "something-else-entirely"}, format="json")

    body = assert_error(response, status=400, code="VALIDATION_ERROR")
    assert "passwordConfirmation" in body["details"]
    assert not User.objects.exists()


def test_weak_password_is_refused_by_django_validators(api_client):
    response = api_client.post(f"{API}/", {**VALID, "password": "123", "passwordConfirmation": "123"}, format="json")

    body = assert_error(response, status=400, code="VALIDATION_ERROR")
    assert "password" in body["details"]


def test_invalid_email_names_the_field(api_client):
    response = api_client.post(f"{API}/", {**VALID, "email": "not-an-email"}, format="json")

    body = assert_error(response, status=400, code="VALIDATION_ERROR")
    assert list(body["details"]) == ["email"]


def test_missing_required_fields_are_listed(api_client):
    response = api_client.post(f"{API}/", {}, format="json")

    body = assert_error(response, status=400, code="VALIDATION_ERROR")
    assert set(body["details"]) == {"name", "email", "username"}


def test_an_owner_without_a_password_gets_an_unusable_one(api_client):
    fields = {key: VALID[key] for key in ("name", "email", "username")}

    body = api_client.post(f"{API}/", fields, format="json").json()

    assert not User.objects.get(pk=body["user_id"]).has_usable_password()
    assert body["auth_token"]


def test_a_password_without_its_confirmation_is_a_400(api_client):
    fields = {key: value for key, value in VALID.items() if key != "passwordConfirmation"}

    response = api_client.post(f"{API}/", fields, format="json")

    assert list(assert_error(response, status=400, code="VALIDATION_ERROR")["details"]) == ["passwordConfirmation"]


def test_malformed_json_is_a_400(api_client):
    response = api_client.generic("POST", f"{API}/", "{not json", content_type="application/json")

    assert_error(response, status=400, code="MALFORMED_REQUEST")


def test_duplicate_email_is_a_409_naming_email(api_client):
    UserFactory.create(email="ada@acme.test")

    response = api_client.post(f"{API}/", VALID, format="json")

    body = assert_error(response, status=409, code="EMAIL_ALREADY_EXISTS")
    assert list(body["details"]) == ["email"]
    assert not Workspace.objects.exists()


def test_duplicate_email_differing_only_in_case_is_a_409(api_client):
    UserFactory.create(email="ada@acme.test")

    response = api_client.post(f"{API}/", {**VALID, "email": "ADA@Acme.test"}, format="json")

    assert_error(response, status=409, code="EMAIL_ALREADY_EXISTS")


def test_duplicate_username_is_a_409_naming_username(api_client):
    UserFactory.create(username="ada")

    response = api_client.post(f"{API}/", VALID, format="json")

    assert_error(response, status=409, code="USERNAME_ALREADY_EXISTS")


def test_creation_is_rate_limited_when_configured(api_client, settings):
    settings.RATE_LIMITS = {"workspace_create": "1/min"}
    api_client.post(f"{API}/", VALID, format="json")

    response = api_client.post(f"{API}/", {**VALID, "email": "b@acme.test", "username": "b"}, format="json")

    body = assert_error(response, status=429, code="RATE_LIMITED")
    assert response["Retry-After"]
    assert body["message"]


def test_a_name_with_a_newline_is_refused(api_client):
    response = api_client.post(f"{API}/", {**VALID, "name": "Acme\nBcc: everyone@example.com"}, format="json")

    assert list(assert_error(response, status=400, code="VALIDATION_ERROR")["details"]) == ["name"]


def test_a_name_that_reads_as_a_uuid_never_becomes_a_slug_that_does(api_client):
    other = WorkspaceFactory.create()

    body = api_client.post(f"{API}/", {**VALID, "name": str(other.id)}, format="json").json()

    assert body["workspace"]["slug"] == f"{other.id}-workspace"
