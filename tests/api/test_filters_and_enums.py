"""List filters a consumer expects, refused loudly when malformed; enum errors that list the valid values."""

import pytest
from django.forms import MultiWidget
from django.utils import timezone

import billing.views  # noqa: F401  (the views define the FilterSets)
import support.views  # noqa: F401
from centrali.api.filters import FilterSet
from support.models import SupportIssue
from tests.helpers import API, assert_error

pytestmark = pytest.mark.django_db


def _issue(workspace, **fields):
    values = {"title": "t", "description": "d", "type": "question", "priority": "medium", "category": ""}
    return SupportIssue.objects.create(workspace=workspace, created_by=workspace.owner, **{**values, **fields})


def _ids(response):
    assert response.status_code == 200, response.content
    return {issue["id"] for issue in response.json()["data"]}


def test_support_issues_filter_by_status_priority_type_and_category(owner_client, workspace):
    urgent_bug = _issue(workspace, priority="urgent", type="bug", category="billing")
    urgent_question = _issue(workspace, priority="urgent", status="closed", closed_at=timezone.now())
    _issue(workspace, type="bug")
    url = f"{API}/{workspace.slug}/support-issues"

    assert _ids(owner_client.get(url, {"priority": "urgent", "type": "bug"})) == {urgent_bug.pk}
    assert _ids(owner_client.get(url, {"priority": "urgent"})) == {urgent_bug.pk, urgent_question.pk}
    assert _ids(owner_client.get(url, {"status": "closed"})) == {urgent_question.pk}
    assert _ids(owner_client.get(url, {"category": "billing"})) == {urgent_bug.pk}
    assert len(_ids(owner_client.get(url, {"unrelated": "x"}))) == 3  # not a filter: ignored


@pytest.mark.parametrize(
    "params, field, text",
    [
        ({"priority": "billing"}, "priority", "low, medium, high, urgent"),
        ({"type": "complaint"}, "type", "bug, feature-request, question"),
        ({"status": "pending"}, "status", "open, in_progress, resolved, closed"),
        ({"category": "x" * 65}, "category", "64"),
        ({"category": "a\x00b"}, "category", "Null characters"),
    ],
)
def test_a_bad_filter_value_is_a_400_naming_it(owner_client, workspace, params, field, text):
    response = owner_client.get(f"{API}/{workspace.slug}/support-issues", params)

    body = assert_error(response, status=400, code="INVALID_FILTER")
    assert list(body["details"]) == [field]
    assert text in body["details"][field][0] and f"`{field}`" in body["message"]


def test_an_invalid_enum_in_a_body_lists_the_valid_values(owner_client, workspace):
    response = owner_client.post(
        f"{API}/{workspace.slug}/support-issues",
        {"title": "t", "description": "d", "priority": "billing"},
        format="json",
    )

    body = assert_error(response, status=400, code="VALIDATION_ERROR")
    assert body["details"] == {"priority": ['"billing" is not a valid choice; valid: low, medium, high, urgent.']}
    assert not SupportIssue.objects.exists()


def test_an_invalid_enum_in_a_query_serializer_lists_the_valid_values(owner_client, workspace):
    response = owner_client.get(f"{API}/{workspace.slug}/usage/historical", {"granularity": "hour"})

    body = assert_error(response, status=400, code="VALIDATION_ERROR")
    assert body["details"] == {"granularity": ['"hour" is not a valid choice; valid: day, week, month.']}


def _filter_sets(cls=FilterSet):
    for subclass in cls.__subclasses__():
        yield subclass
        yield from _filter_sets(subclass)


@pytest.mark.parametrize("filter_set", list(_filter_sets()), ids=lambda cls: cls.__name__)
def test_each_filter_reads_the_one_query_parameter_it_is_named_after(filter_set):
    """FilterSet.filter skips building a FilterSet when no parameter names a filter: a filter
    reading suffixed parameters (a range's `_min`/`_max`) would be skipped wrongly."""
    for name, filter_ in filter_set.base_filters.items():
        assert not isinstance(filter_.field.widget, MultiWidget), f"{filter_set.__name__}.{name}"
