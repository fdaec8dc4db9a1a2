import itertools
from datetime import UTC, datetime

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.e2e.conftest import celery_worker_process, e2e, live_api, start_celery_worker  # noqa: F401  (the e2e harness)
from tests.workspaces.conftest import broker_at, closed_port  # noqa: F401  (broker URL with nothing listening)
from usage.middleware import KEY_PREFIX as API_CALLS_KEY_PREFIX
from usage.services import API_CALLS_FLUSHED_THROUGH_KEY, ingest_events

_ids = itertools.count(1)


def event(workspace, metric, value, at, *, id=None):
    """One usage event as a platform service reports it (`at`: an aware datetime)."""
    return {
        "id": id or f"evt-{next(_ids)}",
        "workspace": workspace.slug,
        "metric": metric,
        "value": value,
        "timestamp": at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
    }


def utc(*args):
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def report():
    """report(workspace, metric, value, at) ingests one event through the service, now."""

    def report_one(workspace, metric, value, at, *, id=None):
        return ingest_events(events=[event(workspace, metric, value, at, id=id)])

    return report_one


SERVICE_TOKEN = "platform-service-token-for-tests"


@pytest.fixture
def service_client(settings):
    """A platform service calling the internal endpoints with the service token."""
    settings.PLATFORM_SERVICE_TOKEN = SERVICE_TOKEN
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {SERVICE_TOKEN}", HTTP_X_SERVICE_NAME="data-service")
    return client


@pytest.fixture(autouse=True)
def _api_calls_never_counted():
    """Each test meters API calls from scratch. With Redis the cache outlives tests and runs and
    also carries the Celery broker, so only the metering keys go; a counter left by another test
    (or an earlier run with the same frozen clock) would otherwise be flushed into this one."""
    if hasattr(cache, "_cache") and hasattr(cache._cache, "get_client"):
        client = cache._cache.get_client(write=True)
        stale = list(client.scan_iter(match=cache.make_key(f"{API_CALLS_KEY_PREFIX}:*")))
        if stale:
            client.delete(*stale)
    else:
        cache.clear()
    cache.delete(API_CALLS_FLUSHED_THROUGH_KEY)
