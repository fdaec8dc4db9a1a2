"""The last page of a cursor walk: the query stops where the workspace's log starts (audit.selectors)."""

import pytest

from centrali.paging import encode_cursor
from tests.audit.helpers import add_event
from tests.helpers import API

pytestmark = pytest.mark.django_db


def _page(client, workspace, **params):
    response = client.get(f"{API}/{workspace.slug}/audit/activity", params)
    assert response.status_code == 200
    return response.json()


def test_the_last_page_holds_the_oldest_events_even_after_older_events_of_other_workspaces(
    owner_client, workspace, other_workspace
):
    for _ in range(3):
        add_event(other_workspace)
    oldest, second, newest = (add_event(workspace, summary=f"event {n}") for n in range(3))
    add_event(other_workspace)

    body = _page(owner_client, workspace, limit=2, cursor=encode_cursor(newest.pk))

    assert [entry["id"] for entry in body["entries"]] == [str(second.pk), str(oldest.pk)]
    assert (body["nextCursor"], body["hasMore"]) == (None, False)


def test_a_page_after_a_cursor_takes_two_queries(owner_client, workspace, other_workspace, django_assert_num_queries):
    events = [add_event(workspace) for _ in range(5)]

    # the membership with its user, workspace and plan; the page (its lower bound is a subquery)
    with django_assert_num_queries(2):
        body = _page(owner_client, workspace, limit=2, cursor=encode_cursor(events[-1].pk))
    assert len(body["entries"]) == 2
