"""GET /healthz and GET /readyz: liveness without dependencies, readiness with each dependency up and
down for real (a broker and a cache at a closed port, a storage that cannot be written)."""

from unittest import mock

import pytest
from django.db import connection
from django.urls import resolve
from drf_spectacular.generators import SchemaGenerator

HEALTHZ = "/workspace/api/v1/healthz"
READYZ = "/workspace/api/v1/readyz"
CHECKS = {"database", "broker", "cache", "storage"}


def redis_cache_at(url):
    return {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}


def assert_only_down(body, down):
    assert set(body["checks"]) == CHECKS
    for name, check in body["checks"].items():
        assert check["status"] == ("down" if name == down else "up"), (name, check)
        assert isinstance(check["latencyMs"], float | int) and check["latencyMs"] >= 0
    assert body["status"] == "unavailable"
    assert set(body["checks"][down]) == {"status", "latencyMs", "error"}


@pytest.fixture
def unwritable_storage(settings, tmp_path):
    """MEDIA_ROOT below a regular file: no directory can be made there (root ignores permission bits)."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    settings.MEDIA_ROOT = str(blocker / "media")


def test_healthz_answers_without_credentials_and_touches_no_dependency(
    api_client, django_assert_num_queries, broker_at, closed_port, settings, unwritable_storage
):
    broker_at(f"redis://127.0.0.1:{closed_port}/0")
    settings.CACHES = redis_cache_at(f"redis://127.0.0.1:{closed_port}/0")

    with django_assert_num_queries(0):
        response = api_client.get(HEALTHZ)

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_answers_200_with_each_check_up_and_its_latency(api_client):
    response = api_client.get(READYZ)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == CHECKS
    for check in body["checks"].values():
        assert check["status"] == "up"
        assert check["latencyMs"] >= 0


def test_readyz_answers_503_when_the_broker_is_down_and_names_no_host(api_client, broker_at, closed_port):
    broker_at(f"redis://:broker-password@127.0.0.1:{closed_port}/0")

    response = api_client.get(READYZ)

    assert response.status_code == 503
    body = response.json()
    assert_only_down(body, "broker")
    text = response.content.decode()
    assert "127.0.0.1" not in text and str(closed_port) not in text and "broker-password" not in text


def test_readyz_answers_503_when_the_cache_is_down(api_client, settings, closed_port):
    settings.CACHES = redis_cache_at(f"redis://:cache-password@127.0.0.1:{closed_port}/0")

    response = api_client.get(READYZ)

    assert response.status_code == 503
    assert_only_down(response.json(), "cache")
    text = response.content.decode()
    assert "127.0.0.1" not in text and str(closed_port) not in text and "cache-password" not in text


def test_readyz_answers_503_when_the_export_storage_cannot_be_written(api_client, unwritable_storage):
    response = api_client.get(READYZ)

    assert response.status_code == 503
    body = response.json()
    assert_only_down(body, "storage")
    assert "a-file" not in response.content.decode()


def test_readyz_leaves_no_probe_behind_in_the_storage(api_client, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")

    assert api_client.get(READYZ).status_code == 200

    assert [path for path in (tmp_path / "media").rglob("*") if path.is_file()] == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_readyz_answers_503_when_the_database_is_down(api_client, closed_port):
    assert connection.vendor == "postgresql", "run with DATABASE_URL=postgres://..."
    real_port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = closed_port  # every new connection is refused
    try:
        response = api_client.get(READYZ)
        healthz = api_client.get(HEALTHZ)
    finally:
        connection.close()
        connection.settings_dict["PORT"] = real_port

    assert response.status_code == 503
    assert_only_down(response.json(), "database")
    assert str(closed_port) not in response.content.decode()
    assert healthz.status_code == 200  # liveness does not depend on the database
    assert api_client.get(READYZ).status_code == 200  # and readiness comes back with it


def test_probes_are_neither_rate_limited_nor_metered(api_client, settings):
    settings.RATE_LIMITS = {"anon": "1/min", "user": "1/min"}

    with mock.patch("usage.middleware.count_api_call") as counted:
        answers = [api_client.get(path).status_code for path in (READYZ, READYZ, HEALTHZ, HEALTHZ)]

    assert answers == [200, 200, 200, 200]
    counted.assert_not_called()


def test_probe_names_are_reserved_routes(settings):
    assert {"healthz", "readyz"} <= settings.WORKSPACE_RESERVED_SLUGS
    assert resolve(HEALTHZ).url_name == "healthz"
    assert resolve(READYZ).url_name == "readyz"


def test_probes_are_documented_in_the_openapi_schema():
    schema = SchemaGenerator().get_schema(request=None, public=True)

    healthz, readyz = schema["paths"]["/healthz"]["get"], schema["paths"]["/readyz"]["get"]
    assert {"200"} <= set(healthz["responses"])
    assert {"200", "503"} <= set(readyz["responses"])
    assert "401" not in readyz["responses"]  # no credentials
    for operation in (healthz, readyz):
        assert operation.get("security") in ([], [{}])
