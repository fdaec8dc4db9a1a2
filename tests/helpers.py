"""Helpers for tests: authenticated clients and the Error-shape assertion."""

from rest_framework.test import APIClient

from centrali.api.authentication import issue_access_token

API = "/workspace/api/v1"


def client_for(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_access_token(user)}")
    return client


def assert_error(response, *, status, code, path=None):
    """The whole Error shape (def-4): status equals the HTTP status, path the request path."""
    assert response.status_code == status, response.content
    body = response.json()
    assert body["error"] == code, body
    assert body["status"] == status
    assert isinstance(body["message"], str) and body["message"]
    assert body["timestamp"].endswith("Z")
    assert body["path"] == (path or response.wsgi_request.path)
    assert body["requestId"] == response["X-Request-ID"]
    return body
