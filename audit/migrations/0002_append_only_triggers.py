from django.db import migrations

from audit.db import drop_append_only_trigger, install_append_only_trigger


def install(apps, schema_editor):
    install_append_only_trigger(schema_editor.connection)


def uninstall(apps, schema_editor):
    drop_append_only_trigger(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    # PostgreSQL only (audit/db.py); a no-op on SQLite.
    operations = [migrations.RunPython(install, uninstall)]
