"""Fixtures of the usage tests: reporting usage, a platform service's client, a broker that is
down, and API-call counters that start from zero in every test."""

import socket

import pytest
import redis
from django.conf import settings as django_settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.test import APIClient

from centrali.celery import app as celery_app
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


# closed_port and broker_at are the same as tests/workspaces/conftest.py's (tests/support uses
# them too): they belong in tests/conftest.py, where every app's tests would find them.


@pytest.fixture
def closed_port():
    """A loopback port nothing listens on (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def broker_at():
    """broker_at(url): publish tasks for real (not eagerly) to the broker at `url`."""
    keys = ("task_always_eager", "broker_url", "broker_connection_timeout")
    previous = {key: celery_app.conf[key] for key in keys}

    def use(url):
        celery_app.conf.update(task_always_eager=False, broker_url=url, broker_connection_timeout=1)
        # Drop pooled connections/producers bound to the previous broker URL (Celery's own
        # after-fork reset: no public call does it).
        celery_app._after_fork()  # type: ignore[attr-defined]

    yield use
    celery_app.conf.update(previous)
    celery_app._after_fork()  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _api_calls_never_counted():
    """Each test meters API calls from scratch: a counter left by another test (or by an earlier
    run with the same frozen clock, when the cache is Redis and outlives runs) would otherwise be
    flushed into this one. Redis also carries the Celery broker, so only the metering keys go."""
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        client = redis.Redis.from_url(django_settings.CACHES["default"]["LOCATION"])
        stale = list(client.scan_iter(match=cache.make_key(f"{API_CALLS_KEY_PREFIX}:*")))
        if stale:
            client.delete(*stale)
    else:
        cache.clear()
