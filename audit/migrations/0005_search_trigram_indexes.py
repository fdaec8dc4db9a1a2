from django.db import migrations

from audit.db import drop_search_indexes, install_search_indexes


def install(apps, schema_editor):
    # CONCURRENTLY: building them must not block appends to a large, live audit table.
    install_search_indexes(schema_editor.connection, concurrently=True)


def drop(apps, schema_editor):
    drop_search_indexes(schema_editor.connection)


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [("audit", "0004_rechain_and_append_only_trigger")]

    # PostgreSQL only (pg_trgm); a no-op on SQLite.
    operations = [migrations.RunPython(install, drop)]
