import csv
import io

import pytest
from django.http import StreamingHttpResponse

from tests.audit.helpers import add_event
from tests.helpers import API, assert_error

pytestmark = pytest.mark.django_db


def _export(client, workspace, **params):
    return client.get(f"{API}/{workspace.slug}/audit/export", params)


def _rows(response):
    assert isinstance(response, StreamingHttpResponse)
    text = response.getvalue().decode()
    return list(csv.reader(io.StringIO(text)))


def test_the_export_is_a_streamed_csv_attachment_with_a_header_row(owner_client, workspace, other_workspace):
    event = add_event(workspace, summary="Renamed", metadata={"changes": {"name": {"before": "a", "after": "b"}}})

    response = _export(owner_client, workspace)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith(f'attachment; filename="audit-{workspace.slug}-')
    assert response["Content-Disposition"].endswith('.csv"')
    header, row = _rows(response)
    assert header[:9] == [
        "id",
        "created_at",
        "type",
        "resource_type",
        "resource_id",
        "actor_type",
        "actor_id",
        "summary",
        "metadata",
    ]
    assert row[0] == str(event.pk) and row[2] == "workspace.updated" and row[7] == "Renamed"
    assert row[8] == '{"changes": {"name": {"after": "b", "before": "a"}}}'


def test_the_export_holds_only_this_workspaces_events(owner_client, workspace, other_workspace):
    add_event(workspace, summary="mine")
    add_event(other_workspace, summary="theirs")

    summaries = [row[7] for row in _rows(_export(owner_client, workspace))[1:]]

    assert summaries == ["mine"]


def test_the_export_applies_the_activity_filters(owner_client, workspace, other_workspace):
    add_event(workspace, event_type="workspace.deleted", summary="deleted")
    add_event(workspace, summary="updated")

    rows = _rows(_export(owner_client, workspace, type="workspace.deleted", search="del"))

    assert [row[7] for row in rows[1:]] == ["deleted"]


def test_a_malformed_filter_is_a_400_before_anything_streams(owner_client, workspace):
    assert_error(_export(owner_client, workspace, dateFrom="not-a-date"), status=400, code="INVALID_FILTER")


@pytest.mark.parametrize("name, value", [("dateFrom", "0001-01-01T00:00:00+05:00"), ("dateTo", "9999-12-31")])
def test_a_date_out_of_range_is_a_400_before_anything_streams(owner_client, workspace, name, value):
    add_event(workspace)

    body = assert_error(_export(owner_client, workspace, **{name: value}), status=400, code="INVALID_FILTER")

    assert list(body["details"]) == [name]


def test_an_empty_log_exports_just_the_header(owner_client, workspace, other_workspace):
    add_event(other_workspace)

    rows = _rows(_export(owner_client, workspace))

    assert len(rows) == 1 and rows[0][0] == "id"


@pytest.mark.parametrize(
    "dangerous",
    ['=HYPERLINK("http://evil")', "+1+1", "-2+3", "@SUM(A1:A2)", "\tcmd", "\rcmd"],
)
def test_cells_that_would_run_as_formulas_are_neutralised(owner_client, workspace, other_workspace, dangerous):
    add_event(workspace, summary=dangerous, resource_id=dangerous)

    row = _rows(_export(owner_client, workspace))[1]

    assert row[7] == "'" + dangerous
    assert row[4] == "'" + dangerous


def test_harmless_cells_are_left_alone(owner_client, workspace, other_workspace):
    add_event(workspace, summary="Plan changed to pro (a=b)")

    assert _rows(_export(owner_client, workspace))[1][7] == "Plan changed to pro (a=b)"


def test_a_member_of_another_workspace_cannot_export(workspace, other_workspace, member_of):
    response = member_of(other_workspace).get(f"{API}/{workspace.slug}/audit/export")

    assert_error(response, status=403, code="NOT_A_MEMBER")


def test_a_nul_character_in_a_filter_is_a_400_not_a_broken_stream(owner_client, workspace):
    assert_error(_export(owner_client, workspace, actorId="\x00"), status=400, code="INVALID_FILTER")
