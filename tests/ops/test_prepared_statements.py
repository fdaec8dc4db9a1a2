"""On PostgreSQL the service's queries are bound server-side, so a query run again on a connection
is a prepared statement, planned once (settings DATABASE_PREPARE_THRESHOLD; bench/RESULTS.md has
what planning cost the membership read on every request)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from tests.helpers import API, client_for

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _prepared_statements():
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [statement for (statement,) in cursor.fetchall()]


def test_the_membership_read_is_prepared_once_a_connection_has_run_it_twice(workspace, other_workspace):
    assert connection.vendor == "postgresql", "set DATABASE_URL=postgres://..."
    for ws in (workspace, other_workspace, workspace):
        assert client_for(ws.owner).get(f"{API}/{ws.slug}").status_code == 200

    prepared = [statement for statement in _prepared_statements() if 'FROM "workspaces_membership"' in statement]

    assert len(prepared) == 1  # one statement for every tenant: the values are parameters
    assert '"workspaces_workspace"."slug" = $' in prepared[0]


def _database_options(**env):
    """settings.DATABASES' OPTIONS as a fresh process reads them from `env`."""
    return subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.DATABASES['default'].get('OPTIONS', {}))"],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "centrali.settings",
             "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/unused", **env},
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip


def test_postgresql_binds_server_side_and_prepares_a_query_on_its_second_run():
    assert _database_options() == "{'server_side_binding': True, 'prepare_threshold': 2}"


def test_prepared_statements_can_be_turned_off_for_a_pooler_in_transaction_mode():
    assert _database_options(DATABASE_PREPARE_THRESHOLD="off") == "{}"
