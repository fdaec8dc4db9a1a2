"""Appends to one workspace's chain are serialized: concurrent writers never fork the chain."""

import threading

import pytest
from django.db import connection, connections, transaction

from audit.models import AuditChain, AuditEvent
from audit.selectors import verify_chain
from tests.audit.helpers import add_event
from workspaces.models import Workspace

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WRITERS = 4
EVENTS_PER_WRITER = 15


def test_concurrent_writers_build_one_unbroken_chain_without_deadlocks(workspace, other_workspace):
    assert connection.vendor == "postgresql", "this test needs DATABASE_URL=postgres://..."
    start = threading.Barrier(WRITERS)
    errors = []

    def append_under_workspace_lock():
        # What workspace services do: lock the workspace row FOR UPDATE, change it, record.
        with transaction.atomic():
            Workspace.objects.select_for_update().get(pk=workspace.pk)
            add_event(workspace)

    def write(index):
        try:
            start.wait()  # every writer races for the very first event too (no chain head yet)
            for _ in range(EVENTS_PER_WRITER):
                append_under_workspace_lock() if index % 2 else add_event(workspace)
        except Exception as exc:  # reported below; a thread's exception would otherwise be lost
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(index,)) for index in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert AuditEvent.objects.filter(workspace=workspace).count() == WRITERS * EVENTS_PER_WRITER
    assert AuditChain.objects.get(workspace=workspace).length == WRITERS * EVENTS_PER_WRITER
    assert verify_chain(workspace_id=workspace.pk) is None
