"""The published schema states every constraint the service enforces, and the service enforces it (issue 15).

Each case is one that schemathesis found (devtools/fuzz.py runs it against the live service): both
sides are asserted, what the service's own /openapi.json says, and what the service answers.
"""

import re

import pytest

from billing.models import Plan
from tests.api.openapi_walk import generated_schema, operations
from tests.billing.helpers import SECRET_KEY, closed_loopback_url
from tests.helpers import API, assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def document():
    return generated_schema()


@pytest.fixture
def billing_configured(settings):
    """Billing endpoints answer (these reads and writes call no Stripe API)."""
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_API_BASE = closed_loopback_url()


def _resolve(schema, document):
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    if len(schema.get("allOf", [])) == 1:
        return {**_resolve(schema["allOf"][0], document), **{k: v for k, v in schema.items() if k != "allOf"}}
    return schema


def _parameter(document, method, path, name):
    for parameter in document["paths"][path][method].get("parameters", []):
        if parameter["name"] == name:
            return parameter
    raise AssertionError(f"{method.upper()} {path} declares no parameter {name}")


def _body(document, method, path):
    schema = document["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    return _resolve(schema, document)


def _matches_string_schema(schema, value):
    """Whether a string satisfies a (pattern, length) string schema, or any branch of an anyOf."""
    if "anyOf" in schema:
        return any(_matches_string_schema(branch, value) for branch in schema["anyOf"])
    if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", len(value)):
        return False
    return "pattern" not in schema or re.search(schema["pattern"], value) is not None


def _new_issue(client, workspace):
    response = client.post(
        f"{API}/{workspace.slug}/support-issues", {"title": "Export stuck", "description": "At 80%."}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


# --- limit and page: the schema's bounds are the service's


@pytest.mark.parametrize(
    ("method_path", "url"),
    [
        ("/{slug}/audit/activity", "{slug}/audit/activity"),
        ("/{slug}/audit/{resourceType}/{resourceId}/history", "{slug}/audit/workspace/x/history"),
        ("/{slug}/invoices", "{slug}/invoices"),
        ("/{slug}/support-issues/{id}/comments", "{slug}/support-issues/{issue}/comments"),
    ],
)
def test_limit_zero_is_refused_and_the_schema_says_limit_is_at_least_one(
    document, billing_configured, workspace, owner_client, method_path, url
):
    limit = _parameter(document, "get", method_path, "limit")["schema"]
    assert (limit["type"], limit["minimum"], limit["maximum"]) == ("integer", 1, 100)
    issue = _new_issue(owner_client, workspace) if "{issue}" in url else None

    response = owner_client.get(f"{API}/" + url.format(slug=workspace.slug, issue=issue), {"limit": 0})

    body = assert_error(response, status=400, code="INVALID_PAGINATION")
    assert "limit" in body["details"]


def test_a_negative_page_is_refused_and_the_schema_says_page_is_at_least_one(document, workspace, owner_client):
    page = _parameter(document, "get", "/{slug}/support-issues", "page")["schema"]
    assert page["minimum"] == 1

    response = owner_client.get(f"{API}/{workspace.slug}/support-issues", {"page": -580})

    body = assert_error(response, status=400, code="INVALID_PAGINATION")
    assert "page" in body["details"]


def test_an_unknown_invoice_status_is_refused_and_the_schema_lists_the_statuses(
    document, billing_configured, workspace, owner_client
):
    status = _parameter(document, "get", "/{slug}/invoices", "status")["schema"]
    assert set(status["enum"]) == {"draft", "open", "paid", "uncollectible", "void"}

    response = owner_client.get(f"{API}/{workspace.slug}/invoices", {"status": "AAA"})

    body = assert_error(response, status=400, code="VALIDATION_ERROR")
    assert "status" in body["details"]


# --- dates and periods: formats and patterns


def test_an_empty_date_from_is_refused_and_the_schema_calls_it_invalid(document, workspace, owner_client):
    date_from = _parameter(document, "get", "/{slug}/audit/activity", "dateFrom")["schema"]
    assert not _matches_string_schema(date_from, "")
    assert _matches_string_schema(date_from, "2026-11-30") and _matches_string_schema(date_from, "2026-11-30T10:00Z")

    response = owner_client.get(f"{API}/{workspace.slug}/audit/activity", {"dateFrom": ""})

    body = assert_error(response, status=400, code="INVALID_FILTER")
    assert "dateFrom" in body["details"]


def test_an_empty_start_date_is_refused_and_the_schema_calls_it_invalid(document, workspace, owner_client):
    start = _parameter(document, "get", "/{slug}/usage/historical", "startDate")["schema"]
    assert start["format"] == "date" and not _matches_string_schema(start, "")

    response = owner_client.get(f"{API}/{workspace.slug}/usage/historical", {"startDate": ""})

    body = assert_error(response, status=400, code="VALIDATION_ERROR")
    assert "startDate" in body["details"]


def test_an_end_date_before_the_year_2000_is_refused_and_the_schema_says_so(document, workspace, owner_client):
    end = _parameter(document, "get", "/{slug}/usage/historical", "endDate")["schema"]
    assert not _matches_string_schema(end, "0266-02-26") and _matches_string_schema(end, "2026-02-26")

    response = owner_client.get(f"{API}/{workspace.slug}/usage/historical", {"endDate": "0266-02-26"})

    body = assert_error(response, status=400, code="VALIDATION_ERROR")
    assert "endDate" in body["details"]


def test_a_billing_period_not_yyyy_mm_is_refused_and_the_schema_has_its_pattern(document, workspace, owner_client):
    period = _parameter(document, "get", "/{slug}/usage/{billingPeriod}", "billingPeriod")["schema"]
    assert not _matches_string_schema(period, "0") and _matches_string_schema(period, "2026-02")

    response = owner_client.get(f"{API}/{workspace.slug}/usage/0")

    body = assert_error(response, status=400, code="INVALID_BILLING_PERIOD")
    assert "billingPeriod" in body["details"]


# --- bodies


def test_an_empty_workspace_update_is_refused_and_the_schema_wants_a_property(document, workspace, owner_client):
    body_schema = _body(document, "put", "/{slug}")
    assert body_schema["minProperties"] == 1
    assert body_schema["anyOf"] == [{"required": ["name"]}, {"required": ["description"]}]

    response = owner_client.put(f"{API}/{workspace.slug}", {}, format="json")

    assert_error(response, status=400, code="VALIDATION_ERROR")


def test_a_support_issue_update_naming_no_known_field_is_refused(document, workspace, owner_client):
    body_schema = _body(document, "put", "/{slug}/support-issues/{id}")
    assert {"required": ["status"]} in body_schema["anyOf"]
    issue = _new_issue(owner_client, workspace)

    response = owner_client.put(f"{API}/{workspace.slug}/support-issues/{issue}", {"unknown": 1}, format="json")

    assert_error(response, status=400, code="VALIDATION_ERROR")


def test_retrying_an_unknown_service_is_refused_and_the_schema_lists_the_services(document, workspace, owner_client):
    service = _resolve(_body(document, "post", "/{slug}/provision-status/retry")["properties"]["service"], document)
    assert service["enum"] == ["storage"]  # the services of these settings

    response = owner_client.post(
        f"{API}/{workspace.slug}/provision-status/retry", {"service": "teleport"}, format="json"
    )

    body = assert_error(response, status=400, code="VALIDATION_ERROR")
    assert "service" in body["details"]


def test_a_spending_cap_of_zero_is_accepted_as_the_schema_allows(document, billing_configured, workspace, owner_client):
    cap = _body(document, "patch", "/{slug}/overage")["properties"]["overageSpendingCapCents"]
    assert cap["minimum"] == 0
    workspace.plan = Plan.objects.get(code="pro")
    workspace.save(update_fields=["plan"])

    response = owner_client.patch(
        f"{API}/{workspace.slug}/overage", {"overageEnabled": False, "overageSpendingCapCents": 0}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["overageSpendingCapCents"] == 0


def test_overage_on_a_plan_without_it_is_a_documented_400(document, billing_configured, workspace, owner_client):
    assert "400" in document["paths"]["/{slug}/overage"]["patch"]["responses"]

    response = owner_client.patch(
        f"{API}/{workspace.slug}/overage", {"overageEnabled": True, "overageSpendingCapCents": 0}, format="json"
    )

    assert_error(response, status=400, code="OVERAGE_NOT_OFFERED")


@pytest.mark.parametrize(
    ("path", "field", "url", "body"),
    [
        ("/{slug}", "description", "{slug}", {"description": 0}),
        (
            "/{slug}/support-issues",
            "category",
            "{slug}/support-issues",
            {"title": "t", "description": "d", "category": 0},
        ),
        ("/{slug}/support-issues", "description", "{slug}/support-issues", {"title": "t", "description": 0}),
        (
            "/{slug}/support-issues/{id}/comments",
            "displayName",
            "{slug}/support-issues/{issue}/comments",
            {"comment": "c", "displayName": 0},
        ),
    ],
)
def test_a_number_where_the_schema_says_string_is_refused(document, workspace, owner_client, path, field, url, body):
    method = "put" if path == "/{slug}" else "post"
    assert _resolve(_body(document, method, path)["properties"][field], document)["type"] == "string"
    issue = _new_issue(owner_client, workspace) if "{issue}" in url else None

    response = getattr(owner_client, method)(
        f"{API}/" + url.format(slug=workspace.slug, issue=issue), body, format="json"
    )

    assert field in assert_error(response, status=400, code="VALIDATION_ERROR")["details"]


# --- headers


def test_a_webhook_without_a_signature_is_refused_and_the_schema_requires_the_header(
    document, billing_configured, client, settings
):
    settings.STRIPE_WEBHOOK_SECRET = "whsec_test"  # noqa: S105 -- a test secret
    signature = _parameter(document, "post", "/webhooks/stripe", "Stripe-Signature")
    assert (signature["in"], signature["required"]) == ("header", True)

    response = client.post(f"{API}/webhooks/stripe", data=b"{}", content_type="application/json")

    assert_error(response, status=400, code="INVALID_SIGNATURE")


def test_every_post_declares_the_optional_idempotency_key_header(document):
    for method, path, _ in (op for op in operations(document) if op[0] == "post"):
        key = _parameter(document, method, path, "Idempotency-Key")
        assert (key["in"], key.get("required", False), key["schema"]["maxLength"]) == ("header", False, 255)


def test_an_invalid_idempotency_key_is_refused_as_the_schema_says(document, workspace, owner_client):
    key = _parameter(document, "post", "/{slug}/support-issues", "Idempotency-Key")["schema"]
    assert not _matches_string_schema(key, "x" * 256)

    response = owner_client.post(
        f"{API}/{workspace.slug}/support-issues",
        {"title": "t", "description": "d"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="x" * 256,
    )

    assert_error(response, status=400, code="INVALID_IDEMPOTENCY_KEY")


# --- status codes


def test_an_undeclared_method_is_a_405_error_whatever_the_workspace_state(document, workspace, owner_client):
    assert "trace" not in document["paths"]["/{slug}"]
    assert all("405" in operation["responses"] for _, _, operation in operations(document))
    # Cancelled: its writes answer 400 WORKSPACE_PENDING_DELETION, a method it lacks still 405.
    assert owner_client.delete(f"{API}/{workspace.slug}").status_code == 200

    response = owner_client.generic("TRACE", f"{API}/{workspace.slug}")

    assert_error(response, status=405, code="METHOD_NOT_ALLOWED")


def test_every_delete_in_a_workspace_documents_the_pending_deletion_400(document):
    deletes = [(path, op) for method, path, op in operations(document) if method == "delete" and "{slug}" in path]
    assert deletes
    for path, operation in deletes:
        assert "WORKSPACE_PENDING_DELETION" in operation["responses"]["400"]["description"], path


# --- links for the stateful phase


def test_a_created_support_issue_links_to_its_read_update_and_comments(document):
    links = document["paths"]["/{slug}/support-issues"]["post"]["responses"]["201"]["links"]
    assert {link["operationId"] for link in links.values()} == {
        "support_issues_retrieve",
        "support_issues_update",
        "support_issue_comments_list",
        "support_issues_comments_create",
    }
    assert all(link["parameters"]["id"] == "$response.body#/id" for link in links.values())


def test_a_requested_export_links_to_its_status_and_download(document):
    links = document["paths"]["/{slug}/export"]["post"]["responses"]["202"]["links"]
    assert {link["operationId"] for link in links.values()} == {"export_job_retrieve", "export_download"}
    assert all(link["parameters"]["jobId"] == "$response.body#/jobId" for link in links.values())
