from django.db import migrations

from audit.db import SUPERSEDED_SEARCH_INDEXES, drop_search_indexes, install_search_indexes


def replace(apps, schema_editor):
    # Build the per-workspace trigram indexes, then drop 0005's; both CONCURRENTLY so a live
    # audit table keeps taking appends. (0005 now installs the new ones on a fresh database.)
    install_search_indexes(schema_editor.connection, concurrently=True)
    drop_search_indexes(schema_editor.connection, names=SUPERSEDED_SEARCH_INDEXES, concurrently=True)


class Migration(migrations.Migration):
    atomic = False  # CREATE/DROP INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [("audit", "0007_refuse_truncate")]

    # PostgreSQL only; a no-op on SQLite.
    operations = [migrations.RunPython(replace, migrations.RunPython.noop)]
