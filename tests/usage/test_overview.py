"""GET /{slug}/overview: the workspace at a glance, from rollups, memberships and the audit log."""

from datetime import timedelta

import pytest
from freezegun import freeze_time

from audit.services import record
from tests.factories import MembershipFactory
from tests.helpers import API, assert_error
from tests.usage.helpers import utc

pytestmark = pytest.mark.django_db

NOW = utc(2026, 3, 18, 15, 0)


@pytest.fixture(autouse=True)
def frozen_now():
    with freeze_time(NOW):
        yield


def _overview(client, workspace):
    response = client.get(f"{API}/{workspace.slug}/overview")
    assert response.status_code == 200, response.content
    return response.json()


def test_usage_blocks_come_from_the_rollups(owner_client, workspace, other_workspace, report):
    report(workspace, "structures", 12, NOW - timedelta(days=2))
    report(workspace, "structures_created", 2, NOW - timedelta(days=3))
    report(workspace, "structures_created", 1, NOW - timedelta(days=10))  # older than a week
    report(workspace, "records", 900, NOW - timedelta(hours=1))
    report(workspace, "records_created", 40, NOW - timedelta(hours=2))
    report(workspace, "records_created", 60, NOW - timedelta(days=1))  # yesterday
    report(workspace, "storage_bytes", 4_096, NOW - timedelta(days=5))
    report(workspace, "files", 3, NOW - timedelta(days=5))
    report(workspace, "functions", 4, NOW - timedelta(days=1))
    report(workspace, "function_invocations", 250, NOW - timedelta(hours=3))
    report(workspace, "function_failures", 2, NOW - timedelta(hours=3))
    report(workspace, "scheduler_active_jobs", 6, NOW - timedelta(days=1))
    report(workspace, "scheduler_failures", 1, NOW - timedelta(hours=1))
    report(other_workspace, "records", 123_456, NOW - timedelta(hours=1))

    body = _overview(owner_client, workspace)

    assert body["structures"] == {"total": 12, "recentlyCreated": 2}
    assert body["records"] == {"total": 900, "createdToday": 40}
    assert body["storage"] == {"usedBytes": 4_096, "fileCount": 3}
    assert body["compute"] == {"functionsTotal": 4, "runsToday": 250, "failedToday": 2}
    assert body["scheduler"] == {"activeJobs": 6, "failedToday": 1}


def test_a_block_is_null_only_when_nothing_was_ever_reported_for_it(owner_client, workspace, report):
    report(workspace, "function_invocations", 5, NOW - timedelta(days=20))

    body = _overview(owner_client, workspace)

    assert body["compute"] == {"functionsTotal": 0, "runsToday": 0, "failedToday": 0}
    assert body["structures"] is None and body["records"] is None
    assert body["storage"] is None and body["scheduler"] is None


def _activity(workspace, actor, *, summary="renamed", at=None):
    record(
        workspace=workspace,
        event_type="workspace.updated",
        resource_type="workspace",
        resource_id=workspace.pk,
        summary=summary,
        actor=actor,
        occurred_at=at,
    )


def test_users_are_the_members_and_those_active_in_the_audit_log_this_week(owner_client, workspace, other_workspace):
    active = MembershipFactory(workspace=workspace).user
    MembershipFactory(workspace=workspace)  # never did anything
    long_ago = MembershipFactory(workspace=workspace).user
    _activity(workspace, active, at=NOW - timedelta(days=2))
    _activity(workspace, long_ago, at=NOW - timedelta(days=9))
    MembershipFactory(workspace=other_workspace)

    assert _overview(owner_client, workspace)["users"] == {"total": 4, "activeThisWeek": 1}


def test_a_member_active_only_in_another_workspace_is_not_active_here(owner_client, workspace, other_workspace):
    elsewhere = MembershipFactory(workspace=workspace).user
    MembershipFactory(workspace=other_workspace, user=elsewhere)
    _activity(other_workspace, elsewhere, at=NOW - timedelta(days=1))

    assert _overview(owner_client, workspace)["users"] == {"total": 2, "activeThisWeek": 0}


def test_recent_activity_is_the_newest_audit_events_in_the_spec_shape(owner_client, workspace, other_workspace):
    for n in range(12):
        _activity(workspace, workspace.owner, summary=f"change {n}")
    _activity(other_workspace, other_workspace.owner, summary="elsewhere")

    activity = _overview(owner_client, workspace)["recentActivity"]

    assert len(activity) == 10
    assert activity[0]["summary"] == "change 11"
    assert set(activity[0]) == {"id", "type", "resourceType", "resourceId", "actorId", "summary", "at"}
    assert activity[0]["actorId"] == str(workspace.owner.pk) and activity[0]["at"].endswith("Z")
    assert all(item["summary"] != "elsewhere" for item in activity)


def test_it_takes_a_handful_of_queries(owner_client, workspace, report, django_assert_num_queries):
    report(workspace, "records", 1, NOW)
    report(workspace, "records_created", 1, NOW)

    # the membership with its user, the usage (week sums, newest values), members and those active this week,
    # recent activity
    with django_assert_num_queries(4):
        owner_client.get(f"{API}/{workspace.slug}/overview")


def test_a_non_member_gets_403(member_of, workspace, other_workspace):
    assert_error(member_of(other_workspace).get(f"{API}/{workspace.slug}/overview"), status=403, code="NOT_A_MEMBER")
