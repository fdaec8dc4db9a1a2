"""On PostgreSQL timestamptz columns are decoded by psycopg's C loader (centrali.db.postgresql), not
Django's pure-Python one, and read back exactly as Django's loader reads them: the same instant,
to the microsecond, in UTC."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import BaseTzLoader
from psycopg.pq import Format

from centrali.db.postgresql.base import TIMESTAMPTZ_OID
from tests.factories import WorkspaceFactory
from workspaces.models import Workspace

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

INSTANTS = [
    datetime(2026, 12, 2, 9, 57, 11, 123456, tzinfo=UTC),
    datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
]


def _loader():
    connection.ensure_connection()
    return connection.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)


def test_a_connection_decodes_timestamptz_without_djangos_python_loader():
    assert connection.vendor == "postgresql", "set DATABASE_URL=postgres://..."

    assert not issubclass(_loader(), BaseTzLoader)
    assert _loader().timezone is connection.timezone  # what Django's create_cursor compares


@pytest.mark.parametrize("instant", INSTANTS, ids=str)
def test_a_stored_instant_reads_back_as_djangos_own_loader_reads_it(instant):
    workspace = WorkspaceFactory.create()
    Workspace.objects.filter(pk=workspace.pk).update(created_at=instant)

    read = Workspace.objects.values_list("created_at", flat=True).get(pk=workspace.pk)
    with connection.cursor() as cursor:
        cursor.execute("SELECT created_at::text FROM workspaces_workspace WHERE id = %s", [workspace.pk])
        (text,) = cursor.fetchone()
    django_loader = type("Loader", (BaseTzLoader,), {"timezone": connection.timezone})(
        TIMESTAMPTZ_OID, connection.connection
    )

    assert read == instant == django_loader.load(text.encode())
    assert read.tzinfo is UTC
