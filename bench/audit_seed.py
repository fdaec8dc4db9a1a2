"""A migrated PostgreSQL database holding two workspaces' audit logs: 100,000 and 1,000,000 events.

Shared by the benchmarks of the audit CSV export, the workspace export and the activity cursor walk
over HTTP. Unlike bench.harness.throwaway_database, the database is the one DATABASE_URL names
(it must end in `_bench`) and it is kept: a rerun reuses it while its tables match the models, and
rebuilds it otherwise (dropped, created from the models without migrations as the tests do, plus the
trigram search indexes the migrations add). Events are inserted by one `INSERT … SELECT
generate_series` per workspace. Chain hashes are placeholders: no path measured here verifies the
chain (and a data migration would refuse them, hence no migrations).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "centrali.settings")
os.environ.setdefault("RATE_LIMITS", "off")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

SIZES = {"a3-100k": 100_000, "a3-1m": 1_000_000}
START = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Seeded:
    slug: str
    workspace_id: str
    owner_id: str
    events: int


def bench_database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if connection.vendor != "postgresql" or not settings.DATABASES["default"]["NAME"].endswith("_bench"):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database whose name ends in _bench.")
    return url


def _insert_events(workspace_id, count, *, offset):
    """`count` events of one workspace; every third has nested metadata, some have commas and quotes
    in their summary (CSV quoting), one in 1,000 starts with `=` (neutralised)."""
    from audit.models import AuditEvent

    # Columns other helpers add later (NOT NULL, no database default) get their model default.
    filled = {"id", "workspace_id", "event_id", "type", "resource_type", "resource_id", "actor_id", "actor_type",
              "summary", "metadata", "ip_address", "user_agent", "request_id", "created_at", "previous_hash",
              "entry_hash"}  # fmt: skip
    extra = [field for field in AuditEvent._meta.concrete_fields if field.column not in filled and not field.null]
    extra_columns = "".join(f", {connection.ops.quote_name(field.column)}" for field in extra)
    extra_values = "".join(f", %(extra_{n})s" for n in range(len(extra)))
    extra_params = {
        f"extra_{n}": field.get_db_prep_save(field.get_default(), connection) for n, field in enumerate(extra)
    }
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO audit_auditevent (workspace_id, type, resource_type, resource_id, actor_id, actor_type,
                summary, metadata, ip_address, user_agent, request_id, created_at, previous_hash, entry_hash
                {extra_columns})
            SELECT %(workspace)s::uuid,
                   (ARRAY['workspace.updated','member.added','plan.changed','structure.created',
                          'export.requested','comment.added'])[1 + n %% 6],
                   (ARRAY['workspace','membership','plan','structure','export','comment'])[1 + n %% 6],
                   'res_' || (n %% 5000),
                   md5((n %% 200)::text)::uuid::text,
                   'user',
                   CASE WHEN n %% 1000 = 0 THEN '=HYPERLINK("http://x/' || n || '")'
                        WHEN n %% 4 = 0 THEN 'Plan changed to "pro", from free (' || n || ')'
                        ELSE 'Event number ' || n || ' on res_' || (n %% 5000) END,
                   CASE n %% 3 WHEN 0 THEN '{{}}'::jsonb
                        WHEN 1 THEN jsonb_build_object('role', 'member', 'user_id', md5(n::text)::uuid)
                        ELSE jsonb_build_object('changes', jsonb_build_object(
                            'name', jsonb_build_object('before', 'Acme ' || n, 'after', 'Acme EU ' || n))) END,
                   CASE WHEN n %% 5 = 0 THEN NULL ELSE ('203.0.113.' || (n %% 250))::inet END,
                   CASE WHEN n %% 2 = 0 THEN 'Mozilla/5.0 (X11; Linux x86_64) Centrali/1.0' ELSE '' END,
                   md5(n::text || 'r'),
                   %(start)s::timestamptz + (n * interval '30 seconds')
                       + CASE WHEN n %% 2 = 0 THEN interval '0' ELSE (n %% 999983) * interval '1 microsecond' END,
                   md5((n - 1)::text) || md5((n - 1)::text || 'h'),
                   md5(n::text) || md5(n::text || 'h')
                   {extra_values}
            FROM generate_series(%(first)s, %(last)s) AS n
            """,
            {"workspace": workspace_id, "start": START, "first": offset, "last": offset + count - 1, **extra_params},
        )


def _schema_is_current() -> bool:
    from django.apps import apps

    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
        for model in apps.get_models():
            if not model._meta.managed or model._meta.proxy:
                continue
            if model._meta.db_table not in tables:
                return False
            have = {
                column.name for column in connection.introspection.get_table_description(cursor, model._meta.db_table)
            }
            if {field.column for field in model._meta.concrete_fields} - have:
                return False
    return True


def _seeded() -> dict[str, Seeded] | None:
    from audit.models import AuditEvent
    from workspaces.models import Workspace

    seeded = {}
    for slug, size in SIZES.items():
        workspace = Workspace.objects.filter(slug=slug).first()
        if workspace is None or AuditEvent.objects.filter(workspace=workspace).count() != size:
            return None
        seeded[slug] = Seeded(slug, str(workspace.pk), str(workspace.owner_id), size)
    return seeded


def _rebuild() -> None:
    name = settings.DATABASES["default"]["NAME"]
    settings.DATABASES["default"].setdefault("TEST", {}).update({"NAME": name, "MIGRATE": False})
    connection.close()
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)


def seed() -> dict[str, Seeded]:
    """The two seeded workspaces by slug, building the database first unless it is already there."""
    from audit.db import install_search_indexes
    from billing.catalogue import seed_plan_catalogue
    from billing.models import Plan
    from workspaces.models import Membership, User, Workspace

    bench_database_url()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    if _schema_is_current() and (seeded := _seeded()):
        return seeded
    started = time.perf_counter()
    _rebuild()
    seed_plan_catalogue(Plan)
    for offset, (slug, size) in enumerate(SIZES.items()):
        owner = User.objects.create(username=f"owner-{slug}", email=f"owner-{slug}@bench.test")
        workspace = Workspace.objects.create(name=slug, slug=slug, owner=owner, plan=Plan.objects.get(code="free"))
        Membership.objects.create(workspace=workspace, user=owner, role="owner")
        _insert_events(str(workspace.pk), size, offset=offset * 10_000_000)
    install_search_indexes(connection)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(
        f"built the bench database and seeded {sum(SIZES.values()):,} events in {time.perf_counter() - started:.0f} s"
    )
    seeded = _seeded()
    assert seeded
    return seeded


def access_token(user_id: str) -> str:
    from centrali.api.authentication import issue_access_token
    from workspaces.models import User

    return issue_access_token(User.objects.get(pk=user_id))
