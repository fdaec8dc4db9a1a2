"""A broker outage never fails committed usage writes, and no quota alert email is lost to it."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from tests.usage.helpers import event
from usage.models import QuotaAlert, UsageEvent
from usage.services import raise_quota_alerts, resend_unsent_quota_alerts

URL = "/workspace/api/v1/internal/usage-events"


@pytest.mark.django_db(transaction=True)
def test_events_ingested_while_the_broker_is_down_are_stored_and_answered(
    service_client, workspace, other_workspace, broker_at, closed_port
):
    broker_at(f"redis://127.0.0.1:{closed_port}/0")  # a real broker URL with nothing listening

    response = service_client.post(URL, {"events": [event(workspace, "records", 9_000, timezone.now())]}, format="json")

    assert response.status_code == 200
    assert response.json()["accepted"] == 1
    assert list(UsageEvent.objects.values_list("workspace", flat=True)) == [workspace.pk]


@pytest.mark.django_db(transaction=True)
def test_an_alert_raised_while_the_broker_is_down_is_kept_unsent(
    workspace, other_workspace, report, broker_at, closed_port
):
    broker_at(f"redis://127.0.0.1:{closed_port}/0")
    report(workspace, "records", 9_000, timezone.now())  # its quota check could not be queued either

    (alert,) = raise_quota_alerts(workspace=workspace)

    alert.refresh_from_db()
    assert (alert.threshold, alert.emailed_at) == (80, None)
    assert mail.outbox == []


@pytest.mark.django_db
def test_the_sweep_emails_an_alert_left_unsent_for_over_a_minute(workspace, other_workspace):
    now = timezone.now()
    unsent = _alert(workspace, created_at=now - timedelta(minutes=2))
    _alert(other_workspace, created_at=now - timedelta(minutes=2), emailed_at=now - timedelta(minutes=1))

    assert resend_unsent_quota_alerts(now=now) == 1

    assert [message.to for message in mail.outbox] == [[workspace.owner.email]]
    unsent.refresh_from_db()
    assert unsent.emailed_at is not None


@pytest.mark.django_db
def test_the_sweep_leaves_an_alert_raised_within_the_last_minute_to_its_own_task(workspace):
    now = timezone.now()
    _alert(workspace, created_at=now - timedelta(seconds=30))

    assert resend_unsent_quota_alerts(now=now) == 0
    assert mail.outbox == []


@pytest.mark.django_db
def test_the_sweep_stops_when_the_broker_is_still_down(workspace, broker_at, closed_port):
    now = timezone.now()
    alert = _alert(workspace, created_at=now - timedelta(minutes=2))
    broker_at(f"redis://127.0.0.1:{closed_port}/0")

    assert resend_unsent_quota_alerts(now=now) == 0
    alert.refresh_from_db()
    assert alert.emailed_at is None


def _alert(workspace, *, created_at, emailed_at=None):
    alert = QuotaAlert.objects.create(
        workspace=workspace, limit="records", period_start=created_at, threshold=80, used=8_000, limit_value=10_000
    )
    # created_at is auto_now_add: set the moment the alert was raised explicitly.
    QuotaAlert.objects.filter(pk=alert.pk).update(created_at=created_at, emailed_at=emailed_at)
    return alert
