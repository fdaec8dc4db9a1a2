"""One active export per workspace is the database's rule, so it holds under concurrent requests."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import IntegrityError, connection, transaction

from tests.factories import WorkspaceFactory
from tests.helpers import API, client_for
from workspaces.models import ExportJob

CONCURRENT_REQUESTS = 20


@pytest.mark.django_db
@pytest.mark.parametrize("active", ["queued", "running"])
def test_the_database_refuses_a_second_active_export(workspace, active):
    ExportJob.objects.create(workspace=workspace, status=active)

    with pytest.raises(IntegrityError), transaction.atomic():
        ExportJob.objects.create(workspace=workspace)


@pytest.mark.django_db
def test_finished_exports_do_not_count_as_active(workspace):
    for status in ("completed", "failed", "expired"):
        ExportJob.objects.create(
            workspace=workspace, status=status, file_name="x.zip", expires_at="2030-01-01T00:00:00Z"
        )

    ExportJob.objects.create(workspace=workspace)

    assert ExportJob.objects.filter(workspace=workspace, status="queued").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_requests_yield_exactly_one_202(broker_at):
    if connection.vendor != "postgresql":
        pytest.fail("This test needs PostgreSQL: run it with DATABASE_URL=postgres://... (make test-postgres).")
    broker_at("memory://")  # publish for real to an in-process broker, so no export completes during the race
    workspace = WorkspaceFactory.create()
    clients = [client_for(workspace.owner) for _ in range(CONCURRENT_REQUESTS)]
    start = threading.Barrier(CONCURRENT_REQUESTS)

    def post(client):
        start.wait()
        try:
            return client.post(f"{API}/{workspace.slug}/export").status_code
        finally:
            connection.close()  # each thread has its own connection

    with ThreadPoolExecutor(max_workers=CONCURRENT_REQUESTS) as pool:
        codes = list(pool.map(post, clients))

    assert sorted(codes) == [202] + [409] * (CONCURRENT_REQUESTS - 1)
    assert ExportJob.objects.filter(workspace=workspace).count() == 1
