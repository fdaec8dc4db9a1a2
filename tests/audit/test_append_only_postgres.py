"""The database itself refuses to rewrite history (PostgreSQL trigger of migrations 0002 and 0005):
only the purge and retention paths delete, only the erasure path updates, and then only to erase.

The test database is built without migrations, so each test installs the same trigger
(audit.db) that the migration installs, and drops it afterwards.
"""

from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from audit.db import drop_append_only_trigger, install_append_only_trigger
from audit.models import AuditEvent
from audit.selectors import verify_chain
from audit.services import ERASURE_SETTING, apply_audit_retention, erase_personal_data, purge_workspace_events
from tests.audit.helpers import add_event
from tests.factories import UserFactory, WorkspaceFactory
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


def _allow_erasure():
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, 'on', true)", [ERASURE_SETTING])


def test_the_erasure_path_passes_the_trigger(workspace):
    person = UserFactory.create()
    event = add_event(workspace, actor=person, ip_address="203.0.113.7", summary=f"{person.username} joined as owner")

    assert erase_personal_data(actor_ids=[str(person.pk)], emails=[person.email], reason="request") == 1

    event.refresh_from_db()
    assert (event.actor_id, event.ip_address, event.summary) == ("erased", None, "[erased user] joined as owner")
    assert verify_chain(workspace_id=workspace.pk) is None


@pytest.mark.parametrize(
    "change",
    [
        {"type": "member.removed"},
        {"summary": "rewritten"},
        {"metadata": {"forged": True}},
        {"entry_hash": "0" * 64},
        {"personal_digest": "0" * 64},
        {"actor_id": "someone-else"},
        {"ip_address": "192.0.2.1"},
    ],
)
def test_the_erasure_permission_lets_nothing_but_an_erasure_through(workspace, change):
    event = add_event(workspace, actor=UserFactory.create(), ip_address="203.0.113.7", summary="original")

    with pytest.raises(DatabaseError, match="append-only: UPDATE refused"), transaction.atomic():
        _allow_erasure()
        AuditEvent.objects.filter(pk=event.pk).update(**change)


def test_the_erasure_permission_ends_with_its_transaction(workspace):
    event = add_event(workspace, actor=UserFactory.create(), ip_address="203.0.113.7")
    with transaction.atomic():
        _allow_erasure()

    with pytest.raises(DatabaseError, match="append-only: UPDATE refused"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(ip_address=None)


def test_the_retention_path_passes_the_trigger(workspace):
    now = timezone.now()
    add_event(workspace, occurred_at=now - timedelta(days=100))
    kept = add_event(workspace)

    assert apply_audit_retention(now=now) == {str(workspace.pk): 1}

    assert list(AuditEvent.objects.values_list("pk", flat=True)) == [kept.pk]
    assert verify_chain(workspace_id=workspace.pk) is None
