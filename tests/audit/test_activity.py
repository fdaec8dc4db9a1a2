from datetime import UTC, datetime

import pytest

from tests.audit.helpers import add_event
from tests.helpers import API, assert_error

pytestmark = pytest.mark.django_db


def _activity(client, workspace, **params):
    return client.get(f"{API}/{workspace.slug}/audit/activity", params)


def _ids(response):
    return [entry["id"] for entry in response.json()["entries"]]


def test_entries_come_newest_first_in_the_spec_shape(owner_client, workspace, other_workspace):
    older = add_event(workspace, summary="older")
    newer = add_event(
        workspace,
        event_type="member.added",
        resource_type="membership",
        resource_id="m-1",
        summary="newer",
        actor=workspace.owner,
        metadata={"role": "member"},
    )
    add_event(other_workspace, summary="other tenant")

    response = _activity(owner_client, workspace)

    assert response.status_code == 200
    body = response.json()
    assert (body["nextCursor"], body["hasMore"]) == (None, False)
    assert [e["id"] for e in body["entries"]] == [str(newer.pk), str(older.pk)]
    entry = body["entries"][0]
    assert entry == {
        "id": str(newer.pk),
        "type": "member.added",
        "resourceType": "membership",
        "resourceId": "m-1",
        "actorId": str(workspace.owner.pk),
        "actorType": "user",
        "summary": "newer",
        "metadata": {"role": "member"},
        "ipAddress": None,
        "userAgent": "",
        "requestId": "",
        "createdAt": entry["createdAt"],
        "hash": newer.entry_hash,
        "previousHash": older.entry_hash,
    }
    assert entry["createdAt"].endswith("Z")


def test_any_member_reads_the_activity(workspace, other_workspace, member_of):
    add_event(workspace)

    assert member_of(workspace, "member").get(f"{API}/{workspace.slug}/audit/activity").status_code == 200


def test_a_second_tenants_events_never_appear(workspace, other_workspace, owner_client):
    add_event(other_workspace, summary="secret of the other tenant")

    response = _activity(owner_client, workspace)

    assert response.json()["entries"] == []
    assert "secret of the other tenant" not in response.content.decode()


def test_a_member_of_another_workspace_is_refused(workspace, other_workspace, member_of):
    assert_error(
        member_of(other_workspace).get(f"{API}/{workspace.slug}/audit/activity"), status=403, code="NOT_A_MEMBER"
    )


def test_the_default_page_holds_fifty_entries(owner_client, workspace, other_workspace):
    for _ in range(51):
        add_event(workspace)

    body = _activity(owner_client, workspace).json()

    assert len(body["entries"]) == 50 and body["hasMore"] is True and body["nextCursor"]


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten"])
def test_a_limit_out_of_range_is_a_400(owner_client, workspace, limit):
    body = assert_error(_activity(owner_client, workspace, limit=limit), status=400, code="INVALID_PAGINATION")

    assert "limit" in body["details"]


@pytest.mark.parametrize("cursor", ["garbage", "eyJrIjogImFiYyJ9", "e30"])
def test_a_malformed_cursor_is_a_400(owner_client, workspace, cursor):
    body = assert_error(_activity(owner_client, workspace, cursor=cursor), status=400, code="INVALID_CURSOR")

    assert "cursor" in body["details"]


def test_a_cursor_walk_has_no_duplicates_and_no_gaps_while_events_arrive(owner_client, workspace, other_workspace):
    existing = [add_event(workspace, summary=f"e{n}") for n in range(10)]
    seen, cursor, pages = [], None, 0

    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        body = _activity(owner_client, workspace, **params).json()
        seen += [entry["id"] for entry in body["entries"]]
        pages += 1
        # New events arrive between page requests; they belong before the walk's start.
        add_event(workspace, summary=f"arrived during the walk {pages}")
        add_event(other_workspace)
        if not body["hasMore"]:
            break
        cursor = body["nextCursor"]

    assert seen == [str(event.pk) for event in reversed(existing)]
    assert pages == 4


def test_reading_a_page_takes_two_queries(owner_client, workspace, other_workspace, django_assert_num_queries):
    for _ in range(5):
        add_event(workspace)

    # the membership with its user (the JWT's), workspace and plan, the page
    with django_assert_num_queries(2):
        response = _activity(owner_client, workspace, limit=2, type="workspace.updated", search="settings")
    assert len(response.json()["entries"]) == 2


def test_filter_by_resource_type(owner_client, workspace, other_workspace):
    wanted = add_event(workspace, event_type="member.added", resource_type="membership", resource_id="u1")
    add_event(workspace)

    assert _ids(_activity(owner_client, workspace, resourceType="membership")) == [str(wanted.pk)]


def test_filter_by_event_type(owner_client, workspace, other_workspace):
    wanted = add_event(workspace, event_type="workspace.deleted")
    add_event(workspace)
    add_event(other_workspace, event_type="workspace.deleted")

    assert _ids(_activity(owner_client, workspace, type="workspace.deleted")) == [str(wanted.pk)]


def test_filter_by_actor(owner_client, workspace, other_workspace):
    wanted = add_event(workspace, actor=workspace.owner)
    add_event(workspace)

    assert _ids(_activity(owner_client, workspace, actorId=str(workspace.owner.pk))) == [str(wanted.pk)]


def test_filter_by_dates_is_inclusive_of_both_days(owner_client, workspace, other_workspace):
    before = add_event(workspace, occurred_at=datetime(2026, 10, 31, 23, 59, tzinfo=UTC))
    first_day = add_event(workspace, occurred_at=datetime(2026, 11, 1, 0, 0, tzinfo=UTC))
    last_day = add_event(workspace, occurred_at=datetime(2026, 11, 2, 23, 59, tzinfo=UTC))
    add_event(workspace, occurred_at=datetime(2026, 11, 3, 0, 0, tzinfo=UTC))

    response = _activity(owner_client, workspace, dateFrom="2026-11-01", dateTo="2026-11-02")

    assert _ids(response) == [str(last_day.pk), str(first_day.pk)]
    assert str(before.pk) not in _ids(response)


def test_filter_by_date_times_with_offsets(owner_client, workspace, other_workspace):
    add_event(workspace, occurred_at=datetime(2026, 11, 1, 9, 59, tzinfo=UTC))
    wanted = add_event(workspace, occurred_at=datetime(2026, 11, 1, 10, 0, tzinfo=UTC))

    response = _activity(owner_client, workspace, dateFrom="2026-11-01T12:00:00+02:00", dateTo="2026-11-01T10:00:00Z")

    assert _ids(response) == [str(wanted.pk)]


@pytest.mark.parametrize("name", ["dateFrom", "dateTo"])
@pytest.mark.parametrize("value", ["yesterday", "2026-13-01", "2026-11-01T25:00", "01/11/2026"])
def test_a_malformed_date_is_a_400_naming_it(owner_client, workspace, name, value):
    body = assert_error(_activity(owner_client, workspace, **{name: value}), status=400, code="INVALID_FILTER")

    assert list(body["details"]) == [name]


def test_a_date_range_that_ends_before_it_starts_is_a_400(owner_client, workspace):
    response = _activity(owner_client, workspace, dateFrom="2026-11-05", dateTo="2026-11-01")

    assert "dateTo" in assert_error(response, status=400, code="INVALID_FILTER")["details"]


def test_search_matches_summary_and_resource_id(owner_client, workspace, other_workspace):
    by_summary = add_event(workspace, summary="Renamed to Needle Corp")
    by_resource = add_event(
        workspace,
        event_type="structure.created",
        resource_type="structure",
        resource_id="str_needle_42",
        reported_by="s",
    )
    add_event(workspace, summary="unrelated")
    add_event(other_workspace, summary="needle in the other tenant")

    assert _ids(_activity(owner_client, workspace, search="needle")) == [str(by_resource.pk), str(by_summary.pk)]


def test_filters_combine_with_the_cursor(owner_client, workspace, other_workspace):
    wanted = [add_event(workspace, event_type="workspace.deleted") for _ in range(3)]
    add_event(workspace)

    first = _activity(owner_client, workspace, type="workspace.deleted", limit=2).json()
    second = _activity(owner_client, workspace, type="workspace.deleted", limit=2, cursor=first["nextCursor"]).json()

    assert [e["id"] for e in first["entries"] + second["entries"]] == [str(e.pk) for e in reversed(wanted)]
    assert second["hasMore"] is False


def test_history_lists_one_resources_events(owner_client, workspace, other_workspace):
    def deployed(target, function_id):
        return add_event(
            target, event_type="function.deployed", resource_type="function", resource_id=function_id, reported_by="fn"
        )

    wanted = [deployed(workspace, "fn_1") for _ in range(3)]
    deployed(workspace, "fn_2")
    deployed(other_workspace, "fn_1")

    first = owner_client.get(f"{API}/{workspace.slug}/audit/function/fn_1/history", {"limit": 2}).json()
    second = owner_client.get(
        f"{API}/{workspace.slug}/audit/function/fn_1/history", {"limit": 2, "cursor": first["nextCursor"]}
    ).json()

    assert [e["id"] for e in first["entries"] + second["entries"]] == [str(e.pk) for e in reversed(wanted)]
    assert (first["hasMore"], second["hasMore"], second["nextCursor"]) == (True, False, None)


def test_history_of_another_tenants_resource_is_empty(owner_client, workspace, other_workspace):
    event = add_event(other_workspace)

    response = owner_client.get(f"{API}/{workspace.slug}/audit/workspace/{event.resource_id}/history")

    assert response.json() == {"entries": [], "nextCursor": None, "hasMore": False}


def test_history_validates_its_paging(owner_client, workspace):
    response = owner_client.get(f"{API}/{workspace.slug}/audit/workspace/x/history", {"limit": 500})

    assert_error(response, status=400, code="INVALID_PAGINATION")


@pytest.mark.parametrize("name", ["resourceType", "type", "actorId", "search"])
def test_a_nul_character_in_a_filter_is_a_400(owner_client, workspace, name):
    body = assert_error(_activity(owner_client, workspace, **{name: "a\x00b"}), status=400, code="INVALID_FILTER")

    assert list(body["details"]) == [name]


def test_a_nul_character_in_the_history_path_is_a_400(owner_client, workspace):
    response = owner_client.get(f"{API}/{workspace.slug}/audit/x%00y/z/history")

    assert list(assert_error(response, status=400, code="INVALID_FILTER")["details"]) == ["resourceType"]


def test_staff_only_events_are_recorded_but_never_shown_to_the_workspace(owner_client, workspace, other_workspace):
    visible = add_event(workspace, event_type="support_issue.updated", resource_type="support_issue", resource_id="7")
    add_event(
        workspace,
        event_type="support_issue.internal_note_added",
        resource_type="support_issue",
        resource_id="7",
        summary="Staff added an internal note",
        actor_type="staff",
    )

    activity = _activity(owner_client, workspace)
    history = owner_client.get(f"{API}/{workspace.slug}/audit/support_issue/7/history")

    assert _ids(activity) == _ids(history) == [str(visible.pk)]
    assert "internal note" not in owner_client.get(f"{API}/{workspace.slug}/audit/export").getvalue().decode()


@pytest.mark.parametrize(
    "name, value",
    [
        ("dateTo", "9999-12-31"),
        ("dateTo", "9999-12-31T23:59:59.999999"),
        ("dateFrom", "0001-01-01T00:00:00+05:00"),
        ("dateFrom", "1999-12-31T23:59:59Z"),
        ("dateTo", "3000-01-01"),
    ],
)
def test_a_date_out_of_range_is_a_400_naming_it(owner_client, workspace, name, value):
    body = assert_error(_activity(owner_client, workspace, **{name: value}), status=400, code="INVALID_FILTER")

    assert list(body["details"]) == [name]


def test_dates_at_the_edges_of_the_range_are_accepted(owner_client, workspace, other_workspace):
    wanted = add_event(workspace)
    add_event(other_workspace)

    response = _activity(owner_client, workspace, dateFrom="2000-01-01", dateTo="2999-12-31")

    assert _ids(response) == [str(wanted.pk)]
