"""manage.py reconcile_usage rebuilds rollups from raw events; beat prunes raw events past retention."""

import re
from datetime import date, timedelta

import pytest
from django.core.management import CommandError
from freezegun import freeze_time

from centrali.exports import export_sections
from tests.command_helpers import run_command
from tests.usage.helpers import utc
from usage.models import DailyUsage, UsageEvent
from usage.services import ingest_events
from usage.tasks import prune_raw_events
from workspaces.services import purge_workspace, soft_delete_workspace

pytestmark = pytest.mark.django_db

NOW = utc(2026, 3, 18, 12, 0)


@pytest.fixture(autouse=True)
def frozen_now():
    with freeze_time(NOW):
        yield


def _reconcile(*args, status=0):
    done = run_command("reconcile_usage", *args)
    assert done.status == status, done
    return done.out


def _rollup(workspace, metric, day):
    return DailyUsage.objects.get(workspace=workspace, metric=metric, day=day).value


def test_matching_rollups_report_no_difference(workspace, report):
    report(workspace, "api_calls", 5, NOW)
    report(workspace, "records", 7, NOW)

    assert "0 rollup difference(s) fixed" in _reconcile()


def test_a_drifted_rollup_is_reported_and_rebuilt_from_raw_events(workspace, other_workspace, report):
    report(workspace, "api_calls", 5, NOW)
    report(workspace, "api_calls", 6, NOW - timedelta(hours=1))
    report(workspace, "records", 9, NOW - timedelta(hours=1))
    report(workspace, "records", 7, NOW)
    DailyUsage.objects.filter(workspace=workspace, metric="api_calls").update(value=1)
    DailyUsage.objects.filter(workspace=workspace, metric="records").update(value=9)
    DailyUsage.objects.create(
        workspace=other_workspace, metric="files", day=NOW.date(), value=3, last_event_at=NOW, updated_at=NOW
    )

    output = _reconcile()

    assert f"{workspace.slug} api_calls {NOW.date()}: stored 1, raw events say 11" in output
    assert f"{workspace.slug} records {NOW.date()}: stored 9, raw events say 7" in output
    assert f"{other_workspace.slug} files {NOW.date()}: stored 3, raw events say nothing" in output
    assert "3 rollup difference(s) fixed" in output
    assert (_rollup(workspace, "api_calls", NOW.date()), _rollup(workspace, "records", NOW.date())) == (11, 7)
    assert not DailyUsage.objects.filter(workspace=other_workspace).exists()


def test_a_dry_run_reports_without_fixing_and_exits_2(workspace, report):
    report(workspace, "api_calls", 5, NOW)
    DailyUsage.objects.filter(workspace=workspace).update(value=1)

    assert "1 rollup difference(s) found" in _reconcile("--dry-run", status=2)
    assert _rollup(workspace, "api_calls", NOW.date()) == 1


def test_a_dry_run_without_differences_exits_0(workspace, report):
    report(workspace, "api_calls", 5, NOW)

    assert "0 rollup difference(s) found" in _reconcile("--dry-run", status=0)


def test_the_json_summary_names_workspaces_by_slug(workspace, report):
    report(workspace, "api_calls", 5, NOW)
    DailyUsage.objects.filter(workspace=workspace).update(value=1)

    done = run_command("reconcile_usage", "--dry-run", "--json")

    assert done.status == 2
    assert done.summary == {
        "command": "reconcile_usage",
        "dry_run": True,
        "exit_status": 2,
        "since": "2026-02-11",
        "differences": [
            {"workspace": workspace.slug, "metric": "api_calls", "day": "2026-03-18", "stored": "1", "rebuilt": "5"}
        ],
        "fixed": 0,
    }


def test_progress_is_not_drawn_for_a_single_transaction(workspace, report):
    # The rebuild is one query and one transaction: there is nothing to count, so no bar, terminal or not.
    report(workspace, "api_calls", 5, NOW)

    assert run_command("reconcile_usage", terminal=True).err == ""


def test_workspace_and_since_narrow_the_rebuild(workspace, other_workspace, report):
    report(workspace, "api_calls", 5, NOW - timedelta(days=3))
    report(workspace, "api_calls", 5, NOW)
    report(other_workspace, "api_calls", 5, NOW)
    DailyUsage.objects.update(value=1)

    output = _reconcile("--workspace", workspace.slug, "--since", str(NOW.date()))

    assert "1 rollup difference(s) fixed" in output
    assert _rollup(workspace, "api_calls", NOW.date() - timedelta(days=3)) == 1
    assert _rollup(other_workspace, "api_calls", NOW.date()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workspace", "nope"], "Unknown workspace: nope."),
        (["--since", "yesterday"], "Error: argument --since: expected a date, YYYY-MM-DD; got 'yesterday'"),
        (["--since", "2026-01-01"], "Raw events before 2026-02-11 are pruned; reconcile from 2026-02-11 or later."),
    ],
)
def test_bad_arguments_are_a_one_line_error(args, message):
    with pytest.raises(CommandError, match=f"^{re.escape(message)}$"):
        _reconcile(*args)


def test_raw_events_past_retention_are_pruned_and_their_rollups_kept(workspace):
    with freeze_time(utc(2026, 2, 5)):
        ingest_events(
            events=[
                {
                    "id": "old",
                    "workspace": workspace.slug,
                    "metric": "api_calls",
                    "value": 4,
                    "timestamp": "2026-02-05T00:00:00Z",
                }
            ]
        )
    with freeze_time(NOW):
        ingest_events(
            events=[
                {
                    "id": "new",
                    "workspace": workspace.slug,
                    "metric": "api_calls",
                    "value": 1,
                    "timestamp": "2026-03-18T00:00:00Z",
                }
            ]
        )

        assert prune_raw_events() == 1

    assert list(UsageEvent.objects.values_list("event_id", flat=True)) == ["new"]
    assert _rollup(workspace, "api_calls", date(2026, 2, 5)) == 4


def test_usage_is_a_section_of_the_workspace_export(workspace, other_workspace, report):
    report(workspace, "api_calls", 5, NOW)
    report(other_workspace, "api_calls", 9, NOW)
    section = next(section for section in export_sections() if section.name == "usage")

    rows = [section.serialize(row) for row in section.queryset(workspace)]

    assert rows == [{"day": "2026-03-18", "metric": "api_calls", "value": "5", "last_event_at": "2026-03-18T12:00:00Z"}]


def test_purging_a_workspace_removes_its_usage_and_only_its_usage(workspace, other_workspace, report):
    report(workspace, "api_calls", 5, NOW)
    report(other_workspace, "api_calls", 9, NOW)
    cancelled = soft_delete_workspace(workspace=workspace)

    purge_workspace(workspace=cancelled, now=NOW + timedelta(days=31))

    assert not DailyUsage.objects.filter(workspace_id=workspace.pk).exists()
    assert not UsageEvent.objects.filter(workspace_id=workspace.pk).exists()
    assert DailyUsage.objects.filter(workspace=other_workspace).count() == 1
