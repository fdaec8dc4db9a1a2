"""Raw usage events in daily range partitions on PostgreSQL (SQLite keeps the plain table).

The partitioned table replaces the plain one under the same name, with the same columns and
indexes; the model state does not change. What differs on PostgreSQL:
- the primary key is (id, occurred_at) and the unique constraint usage_event_unique_per_workspace is
  (workspace_id, event_id, occurred_at): a unique constraint on a partitioned table must hold its
  partition key. Ingestion keeps "one event id per workspace" across partitions itself (a lock per
  workspace, then a look-up of the ids in every partition: usage.services.ingestion);
- one partition per UTC day (usage_usageevent_pYYYYMMDD), created ahead by the beat task
  usage.maintain_raw_event_partitions; usage_usageevent_default takes any row no day partition
  covers (older than the retention window, or a day beat has not created yet);
- retention drops whole day partitions (usage.services.retention.prune_raw_events).
"""

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import migrations

TABLE = "usage_usageevent"
PLAIN = f"{TABLE}_plain"
DEFAULT_PARTITION = f"{TABLE}_default"
SEQUENCE = f"{TABLE}_id_seq"
DAYS_AHEAD = 7


def _is_partitioned(cursor):
    cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s))", [TABLE])
    return cursor.fetchone()[0]


def partition(connection, *, now=None):
    """Turn the plain table into the partitioned one, rows included; nothing if it already is."""
    now = now or datetime.now(UTC)
    with connection.cursor() as cursor:
        if _is_partitioned(cursor):
            return
        cursor.execute(f'ALTER TABLE "{TABLE}" RENAME TO "{PLAIN}"')
        cursor.execute(f'CREATE TABLE "{TABLE}" (LIKE "{PLAIN}" INCLUDING DEFAULTS) PARTITION BY RANGE (occurred_at)')
        cursor.execute(f'ALTER TABLE "{TABLE}" ALTER COLUMN id DROP DEFAULT')  # the identity stays with PLAIN
        cursor.execute(f'CREATE TABLE "{DEFAULT_PARTITION}" PARTITION OF "{TABLE}" DEFAULT')
        today = now.date()
        first = today - timedelta(days=settings.USAGE_RAW_EVENT_RETENTION_DAYS + 1)
        for offset in range((today - first).days + DAYS_AHEAD + 1):
            day = first + timedelta(days=offset)
            # Literal bounds: DDL takes no parameters bound server-side (settings DATABASE_PREPARE_THRESHOLD).
            lower, upper = (f"'{_midnight(d).isoformat()}'::timestamptz" for d in (day, day + timedelta(days=1)))
            cursor.execute(
                f'CREATE TABLE "{TABLE}_p{day:%Y%m%d}" PARTITION OF "{TABLE}" FOR VALUES FROM ({lower}) TO ({upper})'
            )
        cursor.execute(f'INSERT INTO "{TABLE}" SELECT * FROM "{PLAIN}"')  # noqa: S608  constant identifiers
        cursor.execute(f'DROP TABLE "{PLAIN}"')
        cursor.execute(f'CREATE SEQUENCE "{SEQUENCE}" OWNED BY "{TABLE}".id')
        cursor.execute(f'SELECT setval(\'"{SEQUENCE}"\', COALESCE((SELECT MAX(id) FROM "{TABLE}"), 0) + 1, false)')  # noqa: S608  constant identifiers
        cursor.execute(f'ALTER TABLE "{TABLE}" ALTER COLUMN id SET DEFAULT nextval(\'"{SEQUENCE}"\')')
        cursor.execute(f'ALTER TABLE "{TABLE}" ADD CONSTRAINT "{TABLE}_pkey" PRIMARY KEY (id, occurred_at)')
        cursor.execute(
            f'ALTER TABLE "{TABLE}" ADD CONSTRAINT "usage_event_unique_per_workspace" '
            "UNIQUE (workspace_id, event_id, occurred_at)"
        )
        cursor.execute(
            f'ALTER TABLE "{TABLE}" ADD CONSTRAINT "{TABLE}_workspace_id_fk_workspaces_workspace_id" '
            'FOREIGN KEY (workspace_id) REFERENCES "workspaces_workspace" (id) DEFERRABLE INITIALLY DEFERRED'
        )
        cursor.execute(f'CREATE INDEX "usage_event_ws_occurred" ON "{TABLE}" (workspace_id, occurred_at)')
        cursor.execute(f'CREATE INDEX "usage_event_occurred" ON "{TABLE}" (occurred_at)')


def unpartition(connection):
    """Back to the plain table of migration 0002, rows included."""
    with connection.cursor() as cursor:
        if not _is_partitioned(cursor):
            return
        cursor.execute(f'CREATE TABLE "{PLAIN}" (LIKE "{TABLE}" INCLUDING DEFAULTS)')
        cursor.execute(f'INSERT INTO "{PLAIN}" SELECT * FROM "{TABLE}"')  # noqa: S608  constant identifiers
        cursor.execute(f'ALTER SEQUENCE "{SEQUENCE}" OWNED BY "{PLAIN}".id')
        cursor.execute(f'DROP TABLE "{TABLE}"')
        cursor.execute(f'ALTER TABLE "{PLAIN}" RENAME TO "{TABLE}"')
        cursor.execute(f'ALTER TABLE "{TABLE}" ADD CONSTRAINT "{TABLE}_pkey" PRIMARY KEY (id)')
        cursor.execute(
            f'ALTER TABLE "{TABLE}" ADD CONSTRAINT "usage_event_unique_per_workspace" UNIQUE (workspace_id, event_id)'
        )
        cursor.execute(
            f'ALTER TABLE "{TABLE}" ADD CONSTRAINT "{TABLE}_workspace_id_fk_workspaces_workspace_id" '
            'FOREIGN KEY (workspace_id) REFERENCES "workspaces_workspace" (id) DEFERRABLE INITIALLY DEFERRED'
        )
        cursor.execute(f'CREATE INDEX "usage_event_ws_occurred" ON "{TABLE}" (workspace_id, occurred_at)')
        cursor.execute(f'CREATE INDEX "usage_event_occurred" ON "{TABLE}" (occurred_at)')


def _midnight(day):
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        partition(schema_editor.connection)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        unpartition(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("usage", "0002_event_id_unique_per_workspace")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
