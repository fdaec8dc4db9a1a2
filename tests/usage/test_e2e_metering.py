"""Through a live server with a real Celery worker on Redis and PostgreSQL: usage reported over HTTP
raises the owner's quota email in the worker, and this service's own API calls become api_calls."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests
from django.core.cache import cache

from centrali.api.authentication import issue_access_token
from tests.e2e.harness import wait_for
from tests.factories import WorkspaceFactory
from usage.middleware import count_api_call, count_key, minute_of
from usage.models import DailyUsage, QuotaAlert
from usage.services import API_CALLS_FLUSHED_THROUGH_KEY
from usage.tasks import flush_api_calls

pytestmark = pytest.mark.e2e

SERVICE_TOKEN = "e2e-platform-service-token"


def test_a_reported_batch_past_80_percent_emails_the_owner_from_the_worker(celery_worker_process, live_api, settings):
    settings.PLATFORM_SERVICE_TOKEN = SERVICE_TOKEN
    workspace = WorkspaceFactory.create()
    batch = [
        {
            "id": "e2e-records-1",
            "workspace": workspace.slug,
            "metric": "records",
            "value": 8_500,
            "timestamp": datetime.now(UTC).isoformat(),
        }
    ]

    response = requests.post(
        f"{live_api}/internal/usage-events",
        json={"events": batch},
        headers={"Authorization": f"Bearer {SERVICE_TOKEN}"},
        timeout=30,
    )

    assert response.json()["accepted"] == 1, response.text
    alert = wait_for(
        lambda: QuotaAlert.objects.filter(workspace=workspace, emailed_at__isnull=False).first(),
        "the worker to raise and email the 80% quota alert",
    )
    assert (alert.limit, alert.threshold) == ("records", 80)
    assert f"{workspace.name} has used 80% of its records limit" in celery_worker_process.output()


def test_api_calls_are_counted_in_redis_and_flushed_by_the_worker(celery_worker_process, live_api):
    # A slug no earlier run can have left counters for in the shared Redis.
    workspace = WorkspaceFactory.create(slug=f"e2e-metering-{uuid.uuid4().hex[:8]}")
    auth = {"Authorization": f"Bearer {issue_access_token(workspace.owner)}"}
    started = datetime.now(UTC)

    for _ in range(3):
        assert requests.get(f"{live_api}/{workspace.slug}", headers=auth, timeout=30).ok

    minutes = range(minute_of(started), minute_of(datetime.now(UTC)) + 1)
    assert sum(cache.get(count_key(minute, workspace.pk)) or 0 for minute in minutes) == 3
    # The flush takes minutes closed two minutes ago or more: counts of an earlier minute, for the worker.
    for _ in range(2):
        count_api_call(workspace.pk, started - timedelta(minutes=5))
    cache.delete(API_CALLS_FLUSHED_THROUGH_KEY)

    flush_api_calls.delay()

    row = wait_for(
        lambda: DailyUsage.objects.filter(workspace=workspace, metric="api_calls").first(),
        "the worker to flush the API calls",
    )
    assert row.value == 2
