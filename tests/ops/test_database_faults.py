"""PostgreSQL going away, for real: the service's backends are terminated (pg_terminate_backend)
from a second connection, the way a restart or a failover drops them.

- Between requests: the persistent connection is health-checked and replaced; the next request is 200.
- During a request: it answers 503 DATABASE_UNAVAILABLE with Retry-After, and nothing it wrote is kept.
"""

import os
import signal
import socket
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
import requests
from django.db import connection

from centrali.api.authentication import issue_access_token
from support.models import SupportIssue
from tests.e2e.harness import _database_url, wait_for
from tests.helpers import API, assert_error
from workspaces.models import Membership, User, Workspace

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SIGN_UP = {
    "name": "Initech",
    "email": "peter@initech.test",
    "username": "peter",
    "password": "a-long-and-unusual-passphrase",
    "passwordConfirmation": "a-long-and-unusual-passphrase",
}
ISSUE = {"title": "The printer", "description": "PC load letter.", "type": "bug", "priority": "low"}


@pytest.fixture(autouse=True)
def _postgres():
    assert connection.vendor == "postgresql", "run with DATABASE_URL=postgres://..."


def admin_connection():
    """A connection of the test's own to the test database, beside Django's."""
    db = connection.settings_dict
    return psycopg.connect(
        dbname=db["NAME"],
        user=db["USER"],
        password=db["PASSWORD"] or None,
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        autocommit=True,
    )


def terminate(pid):
    """pg_terminate_backend(pid) from a connection of its own, waiting until the backend is gone."""
    with admin_connection() as admin:
        [(terminated,)] = admin.execute("SELECT pg_terminate_backend(%s, 5000)", [pid]).fetchall()
        assert terminated, f"backend {pid} was not terminated"


@contextmanager
def backend_terminated_before(sql_prefix):
    """Inside the block, the first statement starting with `sql_prefix` finds its connection gone."""
    fired: list[str] = []

    def wrapper(execute, sql, params, many, context):
        if not fired and sql.lstrip().startswith(sql_prefix):
            fired.append(sql)
            terminate(context["connection"].connection.info.backend_pid)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield fired
    assert fired, f"no statement started with {sql_prefix!r}"


class Gunicorn:
    """The service as production runs it: gunicorn, sync workers holding persistent connections
    (CONN_MAX_AGE) to the test database."""

    def __init__(self, tmp_path, settings, workers, **extra_env):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "centrali.settings",
            "DATABASE_URL": _database_url(),
            "DATABASE_CONN_MAX_AGE": "60",
            "DJANGO_SECRET_KEY": settings.SECRET_KEY,
            "JWT_SIGNING_KEY": settings.SIMPLE_JWT["SIGNING_KEY"],
            "RATE_LIMITS": "off",
            **extra_env,
        }
        env.pop("REDIS_URL", None)  # no shared cache needed: nothing here is metered or limited
        self.log = open(tmp_path / f"gunicorn-{self.port}.log", "wb")  # noqa: SIM115 -- closed by stop()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "centrali.wsgi",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(workers),
                "--access-logfile",
                "-",
            ],
            cwd=REPO,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.url = f"http://127.0.0.1:{self.port}{API}"
        wait_for(self._answers, "gunicorn to answer", timeout=60)

    def _answers(self):
        if self.process.poll() is not None:
            pytest.fail(f"gunicorn exited with {self.process.returncode}")
        try:
            return requests.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except requests.RequestException:  # not listening yet, or its workers still booting
            return False

    def stop(self):
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)
        self.log.close()


@pytest.fixture
def gunicorn(tmp_path, settings):
    started = []

    def start(workers=2, **extra_env):
        started.append(Gunicorn(tmp_path, settings, workers, **extra_env))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def service_backends():
    """The pids of the database's backends other than this test's own connection."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend'"
        )
        return {pid for (pid,) in cursor.fetchall()}


def answers_after_the_backends_were_terminated(server, workspace):
    auth = {"Authorization": f"Bearer {issue_access_token(workspace.owner)}"}
    url = f"{server.url}/{workspace.slug}"
    for _ in range(10):  # every worker opens its persistent connection
        assert requests.get(url, headers=auth, timeout=10).status_code == 200
    backends = service_backends()
    assert backends, "gunicorn's workers hold no persistent connection"
    for pid in backends:
        terminate(pid)  # what a PostgreSQL restart does to every connection the service holds
    return [requests.get(url, headers=auth, timeout=10) for _ in range(10)], backends


def test_after_the_service_backends_were_terminated_every_request_is_served(gunicorn, workspace):
    server = gunicorn(workers=2)

    answers, terminated = answers_after_the_backends_were_terminated(server, workspace)

    assert [answer.status_code for answer in answers] == [200] * 10
    assert not service_backends() & terminated


def test_without_health_checks_a_dropped_connection_answers_503_never_500(gunicorn, workspace):
    server = gunicorn(workers=1, DATABASE_CONN_HEALTH_CHECKS="false")

    answers, _ = answers_after_the_backends_were_terminated(server, workspace)

    statuses = [answer.status_code for answer in answers]
    assert statuses[0] == 503 and set(statuses[1:]) == {200}, statuses  # the broken connection was dropped
    assert answers[0].json()["error"] == "DATABASE_UNAVAILABLE"
    assert answers[0].headers["Retry-After"] == "5"


def test_a_sign_up_whose_connection_drops_mid_way_answers_503_and_writes_nothing(api_client):
    with backend_terminated_before('INSERT INTO "workspaces_membership"'):  # after the user and workspace rows
        response = api_client.post(f"{API}/", SIGN_UP, format="json")

    body = assert_error(response, status=503, code="DATABASE_UNAVAILABLE")
    assert response["Retry-After"] == "5"
    assert "terminat" not in body["message"].lower()  # the driver's message (and host) stays in the logs
    assert not User.objects.filter(email="peter@initech.test").exists()
    assert not Workspace.objects.filter(name="Initech").exists()
    assert not Membership.objects.filter(user__username="peter").exists()

    retried = api_client.post(f"{API}/", SIGN_UP, format="json")
    assert retried.status_code == 201, retried.content
    assert Workspace.objects.filter(name="Initech").count() == 1


def test_a_support_issue_whose_connection_drops_before_its_audit_entry_writes_nothing(owner_client, workspace):
    with backend_terminated_before('INSERT INTO "audit_auditevent"'):  # after the issue row, same transaction
        response = owner_client.post(f"{API}/{workspace.slug}/support-issues", ISSUE, format="json")

    assert_error(response, status=503, code="DATABASE_UNAVAILABLE")
    assert response["Retry-After"] == "5"
    assert not SupportIssue.objects.filter(workspace=workspace).exists()


def _last_statement_of(pid):
    with admin_connection() as admin:
        [(query,)] = admin.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid]).fetchall()
        return query


def test_the_health_check_of_an_idle_connection_sends_nothing_to_the_server():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 'the last statement'")
    pid = connection.connection.info.backend_pid

    assert connection.is_usable()
    assert _last_statement_of(pid) == "SELECT 'the last statement'"


def test_the_health_check_finds_a_terminated_connection_unusable():
    connection.ensure_connection()
    terminate(connection.connection.info.backend_pid)

    try:
        assert not connection.is_usable()
    finally:
        connection.close()  # what Django does with an unusable connection; the teardown opens a new one
