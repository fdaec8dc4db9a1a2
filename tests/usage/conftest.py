"""Fixtures of the usage tests: reporting usage, a platform service's client, and API-call
counters that start from zero in every test."""

import pytest
import redis
from django.conf import settings as django_settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.test import APIClient

import usage.middleware
from tests.usage.helpers import event
from usage.middleware import KEY_PREFIX as API_CALLS_KEY_PREFIX
from usage.services import ingest_events

SERVICE_TOKEN = "platform-service-token-for-tests"


@pytest.fixture
def report():
    """report(workspace, metric, value, at) ingests one event through the service, now."""

    def report_one(workspace, metric, value, at, *, id=None):
        return ingest_events(events=[event(workspace, metric, value, at, id=id)])

    return report_one


@pytest.fixture
def service_client(settings):
    """A platform service calling the internal endpoints with the service token."""
    settings.PLATFORM_SERVICE_TOKEN = SERVICE_TOKEN
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {SERVICE_TOKEN}", HTTP_X_SERVICE_NAME="data-service")
    return client


@pytest.fixture(autouse=True)
def _api_calls_never_counted(monkeypatch):
    """Each test meters API calls from scratch: a counter left by another test (or by an earlier
    run with the same frozen clock, when the cache is Redis and outlives runs) would otherwise be
    flushed into this one. Redis also carries the Celery broker, so only the metering keys go."""
    monkeypatch.setattr(usage.middleware, "pending_api_calls", usage.middleware.PendingApiCalls())
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        client = redis.Redis.from_url(django_settings.CACHES["default"]["LOCATION"])
        stale = list(client.scan_iter(match=cache.make_key(f"{API_CALLS_KEY_PREFIX}:*")))
        if stale:
            client.delete(*stale)
    else:
        cache.clear()
