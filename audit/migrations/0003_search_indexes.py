from django.db import migrations

from audit.db import drop_search_indexes, install_search_indexes


def install(apps, schema_editor):
    # CONCURRENTLY: building them must not block appends to a large, live audit table.
    install_search_indexes(schema_editor.connection, concurrently=True)


def uninstall(apps, schema_editor):
    drop_search_indexes(schema_editor.connection, concurrently=True)


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [("audit", "0002_append_only_triggers")]

    # PostgreSQL only (pg_trgm, btree_gin); a no-op on SQLite.
    operations = [migrations.RunPython(install, uninstall)]
