"""ETag on GET /{slug} and GET /{slug}/support-issues/{id}; If-Match on their PUT (412 when it moved)."""

import pytest

from audit.models import AuditEvent
from support.models import SupportIssue
from tests.helpers import API, assert_error
from tests.support.factories import SupportIssueFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def issue(workspace):
    return SupportIssueFactory(workspace=workspace, created_by=workspace.owner, title="Before")


def _issue_url(issue):
    return f"{API}/{issue.workspace.slug}/support-issues/{issue.pk}"


@pytest.fixture(params=["workspace", "issue"])
def resource(request, workspace, issue):
    """(url, a valid PUT body, how to read the changed field back) for each conditional resource."""
    if request.param == "workspace":
        return (
            f"{API}/{workspace.slug}",
            lambda value: {"name": value},
            lambda: workspace.__class__.objects.get(pk=workspace.pk).name,
        )
    return _issue_url(issue), lambda value: {"title": value}, lambda: SupportIssue.objects.get(pk=issue.pk).title


def test_get_answers_a_strong_etag_that_changes_with_the_resource(resource, owner_client):
    url, body, _ = resource
    first = owner_client.get(url)
    again = owner_client.get(url)
    updated = owner_client.put(url, body("Renamed"), format="json")
    after = owner_client.get(url)

    assert first.status_code == 200
    etag = first["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
    assert again["ETag"] == etag
    assert after["ETag"] != etag
    assert updated["ETag"] == after["ETag"]


def test_put_with_the_current_etag_applies(resource, owner_client):
    url, body, read_back = resource
    etag = owner_client.get(url)["ETag"]

    response = owner_client.put(url, body("Renamed"), format="json", HTTP_IF_MATCH=etag)

    assert response.status_code == 200, response.content
    assert read_back() == "Renamed"


def test_put_with_a_stale_etag_is_412_and_changes_nothing(resource, owner_client):
    url, body, read_back = resource
    stale = owner_client.get(url)["ETag"]
    owner_client.put(url, body("Saved by another tab"), format="json")
    audit_before = AuditEvent.objects.count()

    response = owner_client.put(url, body("Overwrite"), format="json", HTTP_IF_MATCH=stale)

    assert_error(response, status=412, code="PRECONDITION_FAILED")
    assert read_back() == "Saved by another tab"
    assert AuditEvent.objects.count() == audit_before


@pytest.mark.parametrize("header", ['"nonsense"', 'W/"1.2"', "garbage", '"999999.1"'])
def test_put_with_an_if_match_that_cannot_be_this_resource_is_412(resource, owner_client, header):
    url, body, read_back = resource
    before = read_back()

    response = owner_client.put(url, body("Overwrite"), format="json", HTTP_IF_MATCH=header)

    assert_error(response, status=412, code="PRECONDITION_FAILED")
    assert read_back() == before


def test_if_match_lists_and_star(resource, owner_client):
    url, body, read_back = resource
    etag = owner_client.get(url)["ETag"]

    listed = owner_client.put(url, body("Listed"), format="json", HTTP_IF_MATCH=f'"other", {etag}')
    star = owner_client.put(url, body("Star"), format="json", HTTP_IF_MATCH="*")

    assert listed.status_code == 200
    assert star.status_code == 200
    assert read_back() == "Star"


def test_put_without_if_match_behaves_as_before(resource, owner_client):
    url, body, read_back = resource
    owner_client.get(url)
    owner_client.put(url, body("One"), format="json")

    response = owner_client.put(url, body("Two"), format="json")

    assert response.status_code == 200
    assert read_back() == "Two"


def test_a_missing_issue_is_404_before_any_precondition(workspace, owner_client):
    response = owner_client.put(
        f"{API}/{workspace.slug}/support-issues/999999", {"title": "x"}, format="json", HTTP_IF_MATCH='"1.1"'
    )

    assert response.status_code == 404
