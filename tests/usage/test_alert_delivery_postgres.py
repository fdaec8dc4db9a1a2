"""On PostgreSQL, an alert delivered twice at once (its own task and the sweep's) is emailed once."""

import threading

import pytest
from django.core import mail
from django.db import connection, connections, transaction

from usage.models import QuotaAlert
from usage.tasks import send_quota_alert_email

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _needs_postgres():
    assert connection.vendor == "postgresql", "run with DATABASE_URL=postgres://… (make test-postgres)"


def test_a_delivery_while_another_is_sending_sends_nothing(workspace, other_workspace):
    alert = QuotaAlert.objects.create(
        workspace=workspace, limit="records", period_start=workspace.created_at, threshold=80, used=8, limit_value=10
    )
    sending, done = threading.Event(), threading.Event()

    def first_delivery_mid_send():  # holds the alert's lock as a delivery does while it sends
        try:
            with transaction.atomic():
                QuotaAlert.objects.select_for_update().get(pk=alert.pk)
                sending.set()
                done.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=first_delivery_mid_send)
    thread.start()
    try:
        assert sending.wait(10)
        send_quota_alert_email(alert_id=alert.pk)
    finally:
        done.set()
        thread.join()

    assert mail.outbox == []
    alert.refresh_from_db()
    assert alert.emailed_at is None  # still the first delivery's to send and mark
