"""The database itself refuses to rewrite history (PostgreSQL trigger of migration 0002).

The test database is built without migrations, so each test installs the same trigger
(audit.db) that the migration installs, and drops it afterwards.
"""

from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from audit.db import drop_append_only_trigger, install_append_only_trigger
from audit.models import AuditEvent
from audit.services import purge_workspace_events
from tests.audit.helpers import add_event
from tests.factories import WorkspaceFactory
from workspaces.services import purge_workspace

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def append_only_trigger(transactional_db):
    assert connection.vendor == "postgresql", "these tests need DATABASE_URL=postgres://..."
    install_append_only_trigger(connection)
    yield
    drop_append_only_trigger(connection)


def test_an_update_is_refused(workspace):
    event = add_event(workspace, summary="original")

    with pytest.raises(DatabaseError, match="append-only: UPDATE refused"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(summary="rewritten")

    event.refresh_from_db()
    assert event.summary == "original"


def test_a_delete_is_refused(workspace):
    event = add_event(workspace)

    with pytest.raises(DatabaseError, match="append-only: DELETE refused"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()

    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_deleting_a_workspace_outside_the_purge_path_is_refused(workspace):
    add_event(workspace)

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        workspace.delete()

    assert AuditEvent.objects.filter(workspace=workspace).count() == 1


def test_the_purge_path_deletes_a_workspaces_events_and_the_workspace(workspace, other_workspace):
    add_event(workspace)
    kept = add_event(other_workspace)

    with transaction.atomic():
        assert purge_workspace_events(workspace=workspace) == 1
        workspace.delete()

    assert list(AuditEvent.objects.values_list("pk", flat=True)) == [kept.pk]


def test_the_purge_permission_ends_with_its_transaction(workspace, other_workspace):
    add_event(workspace)
    other_event = add_event(other_workspace)

    with transaction.atomic():
        purge_workspace_events(workspace=workspace)

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=other_event.pk).delete()


def test_appends_still_work(workspace):
    add_event(workspace)
    add_event(workspace)

    assert AuditEvent.objects.filter(workspace=workspace).count() == 2


def test_the_workspace_purge_service_passes_the_trigger(other_workspace):
    now = timezone.now()
    due = WorkspaceFactory.create(
        pending_deletion=True, deleted_at=now - timedelta(days=31), restore_deadline=now - timedelta(days=1)
    )
    add_event(due)
    kept = add_event(other_workspace)

    tombstone = purge_workspace(workspace=due, now=now)

    assert tombstone.counts["audit_events"] == 1
    assert list(AuditEvent.objects.values_list("pk", flat=True)) == [kept.pk]


def test_truncating_the_table_is_refused(workspace):
    add_event(workspace)

    with (
        pytest.raises(DatabaseError, match="append-only: TRUNCATE refused"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("TRUNCATE audit_auditevent")

    assert AuditEvent.objects.count() == 1
