"""The service's fixed routes and the Error shape of the framework's own failures."""

import json

import pytest
from django.conf import settings

import centrali
from tests.helpers import API, assert_error

pytestmark = pytest.mark.django_db


def test_unknown_route_is_404_in_the_error_shape(api_client):
    assert_error(api_client.get(f"{API}/a/b/c/d"), status=404, code="ROUTE_NOT_FOUND")


def test_wrong_method_is_405_in_the_error_shape(owner_client, workspace):
    assert_error(owner_client.patch(f"{API}/{workspace.slug}"), status=405, code="METHOD_NOT_ALLOWED")


def test_uncaught_exception_is_500_without_internals(owner_client, workspace, monkeypatch):
    # Patched in-process: no client input can make this view fail for real.
    def explode(plan):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr("workspaces.views.capabilities_for_plan", explode)

    response = owner_client.get(f"{API}/{workspace.slug}/capabilities")

    body = assert_error(response, status=500, code="INTERNAL_ERROR")
    assert "secret" not in response.content.decode()
    assert body["message"] == "An unexpected error occurred."


def test_version_is_the_contract_version_it_implements(api_client):
    contract = json.loads((settings.BASE_DIR / "contract" / "workspace-service.openapi.json").read_text())

    body = api_client.get(f"{API}/version").json()

    assert body["version"] == contract["info"]["version"] == centrali.__version__
    assert {"commit", "django", "python"} <= set(body)


def test_metrics_count_requests_by_route_template_and_workspaces_by_status(api_client, workspace, other_workspace):
    api_client.get(f"{API}/{workspace.slug}")

    text = api_client.get(f"{API}/metrics").content.decode()

    assert 'centrali_http_requests_total{method="GET",route="/workspace/api/v1/<slug:slug>",status="401"}' in text
    assert "centrali_http_request_duration_seconds_bucket" in text
    assert 'centrali_workspaces{status="active"} 2.0' in text


def test_openapi_document_is_served_as_json(api_client):
    body = api_client.get(f"{API}/openapi.json").json()

    assert body["info"]["title"] == "Centrali Workspace Service API"
    assert "/{slug}" in body["paths"]
    assert body["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_swagger_ui_is_served_from_local_assets(api_client):
    response = api_client.get(f"{API}/docs")

    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html and "cdn.jsdelivr" not in html


def test_oversized_body_is_413_not_500(api_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024

    response = api_client.post(f"{API}/", {"name": "x" * 5000}, format="json")

    assert_error(response, status=413, code="PAYLOAD_TOO_LARGE")


def test_non_json_body_is_415(api_client):
    response = api_client.post(f"{API}/", "name=x", content_type="application/x-www-form-urlencoded")

    assert_error(response, status=415, code="UNSUPPORTED_MEDIA_TYPE")


def test_page_beyond_the_maximum_is_a_400_naming_page():
    from django.http import QueryDict

    from centrali.api.pagination import parse_page_params
    from centrali.errors import InvalidInput
    from centrali.paging import MAX_PAGE

    with pytest.raises(InvalidInput) as raised:
        parse_page_params(QueryDict(f"page={MAX_PAGE + 1}"))

    assert raised.value.details == {"page": [f"`page` must be between 1 and {MAX_PAGE}."]}


def test_unknown_http_methods_share_one_metrics_label(api_client):
    api_client.generic("FROBNICATE", f"{API}/version")

    text = api_client.get(f"{API}/metrics").content.decode()

    assert 'method="OTHER"' in text and "FROBNICATE" not in text


def test_json_nested_too_deeply_is_a_400(api_client):
    response = api_client.generic("POST", f"{API}/", "[" * 5000 + "]" * 5000, content_type="application/json")

    assert_error(response, status=400, code="MALFORMED_REQUEST")


def test_a_lone_surrogate_escape_is_a_400(owner_client, workspace):
    response = owner_client.generic(
        "PUT", f"{API}/{workspace.slug}", '{"name": "bad \\ud800 name"}', content_type="application/json"
    )

    assert_error(response, status=400, code="MALFORMED_REQUEST")


def test_format_query_parameter_is_ignored(owner_client, workspace):
    assert owner_client.get(f"{API}/{workspace.slug}?format=xml").status_code == 200
