"""Content negotiation: every endpoint answers the Accept headers that list a type it produces."""

import pytest

from centrali.api.negotiation import MediaRange, parse_accept, quality_of
from tests.helpers import API, assert_error

pytestmark = pytest.mark.django_db

PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
NO_ACCEPT = None


def _get(client, path, accept):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    return client.get(f"{API}{path}", **headers)


@pytest.mark.parametrize("accept", ["text/plain", PROMETHEUS_ACCEPT, "*/*", "text/*", NO_ACCEPT])
def test_metrics_answer_the_prometheus_text_format(api_client, accept):
    response = _get(api_client, "/metrics", accept)

    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    assert "centrali_http_requests_total" in response.content.decode()


@pytest.mark.parametrize(
    "accept, content_type",
    [
        ("application/json", "application/json"),
        ("application/vnd.oai.openapi+json", "application/vnd.oai.openapi+json"),
        ("*/*", "application/vnd.oai.openapi+json"),
        (NO_ACCEPT, "application/vnd.oai.openapi+json"),
        ("text/html,application/json;q=0.9,*/*;q=0.8", "application/json"),
    ],
)
def test_the_openapi_document_answers_json(api_client, accept, content_type):
    response = _get(api_client, "/openapi.json", accept)

    assert response.status_code == 200, response.content
    assert response["Content-Type"].split(";")[0] == content_type
    assert response.json()["openapi"].startswith("3.")


@pytest.mark.parametrize("accept", ["application/json", "application/*", "*/*", NO_ACCEPT])
def test_json_endpoints_answer_json(owner_client, workspace, accept):
    response = _get(owner_client, f"/{workspace.slug}", accept)

    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"


def test_the_audit_export_answers_csv_to_text_csv(owner_client, workspace):
    response = _get(owner_client, f"/{workspace.slug}/audit/export", "text/csv")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")


@pytest.mark.parametrize(
    "path, accept",
    [
        ("/metrics", "application/xml"),
        ("/metrics", "text/plain;q=0, */*;q=0.1"),
        ("/openapi.json", "text/html"),
        ("/version", "text/csv"),
    ],
)
def test_a_type_the_endpoint_cannot_produce_is_a_406_in_the_error_shape(api_client, path, accept):
    response = _get(api_client, path, accept)

    body = assert_error(response, status=406, code="NOT_ACCEPTABLE")
    assert response["Content-Type"] == "application/json"
    assert "answers" in body["message"]


def test_a_406_names_what_the_endpoint_answers(owner_client, workspace):
    response = _get(owner_client, f"/{workspace.slug}/audit/export", "application/pdf")

    body = assert_error(response, status=406, code="NOT_ACCEPTABLE")
    assert "text/csv" in body["message"]


def test_errors_of_a_text_endpoint_are_json(owner_client, workspace):
    response = _get(owner_client, f"/{workspace.slug}/audit/export?dateFrom=nope", "text/csv")

    assert_error(response, status=400, code="INVALID_FILTER")
    assert response["Content-Type"] == "application/json"


def test_the_most_specific_matching_range_sets_the_weight():
    ranges = parse_accept("text/*;q=0.3, text/plain;q=0.7, text/plain;version=0.0.4;q=0, */*;q=0.1")

    assert quality_of(MediaRange("text", "plain"), ranges) == 0.7
    assert quality_of(MediaRange("text", "plain", {"version": "0.0.4"}), ranges) == 0
    assert quality_of(MediaRange("text", "csv"), ranges) == 0.3
    assert quality_of(MediaRange("application", "json"), ranges) == 0.1


def test_malformed_ranges_are_ignored_and_an_empty_header_accepts_anything():
    assert parse_accept("") == [MediaRange("*", "*")]
    assert parse_accept("garbage, application/json;q=x") == [MediaRange("application", "json", quality=0.0)]
