"""Quotas: GET /internal/workspaces/{slug}/quota, and the owner's 80% / 100% emails."""

from datetime import timedelta

import pytest
from django.core import mail
from freezegun import freeze_time

from audit.models import AuditEvent
from billing.models import OverageSettings, Plan
from tests.billing.helpers import synced_subscription
from tests.helpers import API, assert_error, client_for
from tests.usage.helpers import event, utc
from usage.models import QuotaAlert
from usage.services import ingest_events

pytestmark = pytest.mark.django_db

NOW = utc(2026, 3, 15, 12, 0)


@pytest.fixture(autouse=True)
def frozen_now():
    with freeze_time(NOW):
        yield


def _quota(client, workspace, **params):
    return client.get(f"{API}/internal/workspaces/{workspace.slug}/quota", params)


def _ingest(django_capture_on_commit_callbacks, *events):
    with django_capture_on_commit_callbacks(execute=True):
        return ingest_events(events=list(events))


def test_a_metric_within_its_limit_may_grow(service_client, workspace, report):
    report(workspace, "records", 9_999, NOW)

    response = _quota(service_client, workspace, metric="records")

    assert response.status_code == 200
    assert response.json() == {
        "workspace": workspace.slug,
        "period_start": "2026-03-01T00:00:00Z",
        "period_end": "2026-04-01T00:00:00Z",
        "overage_enabled": False,
        "metrics": {
            "records": {
                "allowed": True,
                "reason": "WITHIN_LIMIT",
                "limit_name": "records",
                "used": 9_999,
                "limit": 10_000,
            }
        },
    }


def test_a_reached_limit_without_overage_stops_growth(service_client, workspace, other_workspace, report):
    report(workspace, "records", 10_000, NOW)

    metrics = _quota(service_client, workspace).json()["metrics"]

    assert metrics["records"]["allowed"] is False and metrics["records"]["reason"] == "QUOTA_EXCEEDED"
    assert metrics["smart_queries"] == {
        "allowed": True,
        "reason": "UNLIMITED",
        "limit_name": None,
        "used": 0,
        "limit": None,
    }
    assert _quota(service_client, other_workspace).json()["metrics"]["records"]["allowed"] is True


def test_with_overage_on_a_priced_metric_grows_past_its_limit(service_client, workspace, report):
    workspace.plan = Plan.objects.get(code="starter")
    workspace.save()
    OverageSettings.objects.create(workspace=workspace, enabled=True, enabled_at=NOW)
    report(workspace, "function_invocations", 260_000, NOW)

    answer = _quota(service_client, workspace, metric="function_invocations").json()["metrics"]["function_invocations"]

    assert (answer["allowed"], answer["reason"]) == (True, "OVERAGE")


def test_overage_never_lifts_a_limit_the_plan_does_not_price(service_client, workspace, report):
    workspace.plan = Plan.objects.get(code="starter")
    workspace.save()
    OverageSettings.objects.create(workspace=workspace, enabled=True, enabled_at=NOW)
    report(workspace, "records", 250_000, NOW)

    assert (
        _quota(service_client, workspace, metric="records").json()["metrics"]["records"]["reason"] == "QUOTA_EXCEEDED"
    )


def test_growth_stops_once_the_overage_estimate_reaches_the_spending_cap(service_client, workspace, report):
    workspace.plan = Plan.objects.get(code="starter")
    workspace.save()
    OverageSettings.objects.create(workspace=workspace, enabled=True, enabled_at=NOW, spending_cap_cents=100)
    report(workspace, "function_invocations", 300_000, NOW)  # exactly $1.00 of overage

    answer = _quota(service_client, workspace, metric="function_invocations").json()["metrics"]["function_invocations"]

    assert (answer["allowed"], answer["reason"]) == (False, "SPENDING_CAP_REACHED")


@pytest.mark.parametrize(
    "status, reason", [("suspended", "WORKSPACE_SUSPENDED"), ("cancelled", "WORKSPACE_PENDING_DELETION")]
)
def test_nothing_may_grow_in_a_workspace_that_is_not_active(
    service_client, workspace, other_workspace, report, status, reason
):
    report(workspace, "records", 1, NOW)
    workspace.status = status
    if status == "cancelled":  # soft-deleted: restorable until the deadline
        workspace.deleted_at, workspace.restore_deadline = NOW, NOW + timedelta(days=30)
    workspace.save(update_fields=["status", "deleted_at", "restore_deadline"])

    metrics = _quota(service_client, workspace).json()["metrics"]

    assert {(answer["allowed"], answer["reason"]) for answer in metrics.values()} == {(False, reason)}
    assert metrics["records"]["used"] == 1
    assert _quota(service_client, other_workspace, metric="records").json()["metrics"]["records"]["allowed"] is True


def test_a_live_subscription_counts_usage_over_its_own_cycle(service_client, workspace, other_workspace, report):
    synced_subscription(workspace, anchor=utc(2026, 1, 9, 8, 0))  # cycles start on the 9th
    synced_subscription(other_workspace, anchor=utc(2026, 1, 9, 8, 0))
    report(workspace, "function_invocations", 400, utc(2026, 3, 5, 12, 0))  # the previous cycle
    report(workspace, "function_invocations", 30, utc(2026, 3, 12, 12, 0))
    report(other_workspace, "function_invocations", 5, utc(2026, 3, 12, 12, 0))

    answer = _quota(service_client, workspace, metric="function_invocations").json()

    assert (answer["period_start"], answer["period_end"]) == ("2026-03-09T08:00:00Z", "2026-04-09T08:00:00Z")
    assert answer["metrics"]["function_invocations"]["used"] == 30


def test_without_a_subscription_usage_counts_over_the_calendar_month(service_client, workspace, report):
    report(workspace, "function_invocations", 400, utc(2026, 2, 28, 12, 0))  # the previous month
    report(workspace, "function_invocations", 400, utc(2026, 3, 1, 0, 0))
    report(workspace, "function_invocations", 30, utc(2026, 3, 12, 12, 0))

    answer = _quota(service_client, workspace, metric="function_invocations").json()

    assert answer["metrics"]["function_invocations"]["used"] == 430


def test_a_gauge_counts_at_its_last_reported_value(service_client, workspace, other_workspace, report):
    report(workspace, "records", 700, utc(2026, 2, 10, 12, 0))  # last month's level persists
    report(other_workspace, "records", 9, utc(2026, 3, 10, 12, 0))

    assert _quota(service_client, workspace, metric="records").json()["metrics"]["records"]["used"] == 700


def test_the_workspace_may_be_named_by_id(service_client, workspace):
    response = service_client.get(f"{API}/internal/workspaces/{workspace.id}/quota", {"metric": "api_calls"})

    assert response.json()["workspace"] == workspace.slug


def test_an_unknown_metric_is_400(service_client, workspace):
    body = assert_error(_quota(service_client, workspace, metric="coffee"), status=400, code="VALIDATION_ERROR")
    assert list(body["details"]) == ["metric"]


def test_an_unknown_workspace_is_404(service_client):
    response = service_client.get(f"{API}/internal/workspaces/nope/quota")

    assert_error(response, status=404, code="WORKSPACE_NOT_FOUND")


def test_a_workspace_members_token_is_refused(workspace):
    assert_error(_quota(client_for(workspace.owner), workspace), status=401, code="INVALID_TOKEN")


# --- emails


def test_the_owner_is_emailed_once_at_80_percent(workspace, django_capture_on_commit_callbacks):
    _ingest(django_capture_on_commit_callbacks, event(workspace, "records", 8_000, NOW))
    _ingest(django_capture_on_commit_callbacks, event(workspace, "records", 8_500, NOW + timedelta(minutes=1)))

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [workspace.owner.email]
    assert "80%" in mail.outbox[0].subject and workspace.slug in mail.outbox[0].body
    assert QuotaAlert.objects.get(workspace=workspace).emailed_at is not None
    assert not AuditEvent.objects.filter(workspace=workspace, type="quota.reached").exists()


def test_reaching_100_percent_emails_and_records_quota_reached(workspace, django_capture_on_commit_callbacks):
    _ingest(django_capture_on_commit_callbacks, event(workspace, "api_calls", 100_000, NOW))

    assert sorted(alert.threshold for alert in QuotaAlert.objects.filter(workspace=workspace)) == [80, 100]
    assert len(mail.outbox) == 2
    reached = AuditEvent.objects.get(workspace=workspace, type="quota.reached")
    assert reached.resource_id == "api_calls_per_month" and reached.actor_type == "system"


def test_a_new_period_alerts_again(workspace, django_capture_on_commit_callbacks):
    _ingest(django_capture_on_commit_callbacks, event(workspace, "records", 8_000, NOW))
    with freeze_time(utc(2026, 4, 2)):
        _ingest(django_capture_on_commit_callbacks, event(workspace, "records", 8_001, utc(2026, 4, 2)))

    assert QuotaAlert.objects.filter(workspace=workspace, threshold=80).count() == 2
    assert len(mail.outbox) == 2


def test_other_tenants_usage_never_alerts_this_one(workspace, other_workspace, django_capture_on_commit_callbacks):
    _ingest(django_capture_on_commit_callbacks, event(other_workspace, "records", 9_000, NOW))

    assert not QuotaAlert.objects.filter(workspace=workspace).exists()
    assert [message.to for message in mail.outbox] == [[other_workspace.owner.email]]


def test_the_alert_is_emailed_on_one_subject_line_when_the_workspace_name_has_a_newline(
    workspace, other_workspace, django_capture_on_commit_callbacks
):
    workspace.name = "Acme\nBcc: victim@example.com"
    workspace.save(update_fields=["name"])

    _ingest(django_capture_on_commit_callbacks, event(workspace, "records", 8_000, NOW))

    (email,) = mail.outbox
    assert email.subject == "[Centrali] Acme Bcc: victim@example.com has used 80% of its records limit"
    assert QuotaAlert.objects.get(workspace=workspace).emailed_at is not None
