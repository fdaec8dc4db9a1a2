from django.db import migrations

from audit.db import install_append_only_trigger


def install(apps, schema_editor):
    # Re-installs the append-only function and triggers, now with the TRUNCATE one.
    install_append_only_trigger(schema_editor.connection)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_auditevent")


class Migration(migrations.Migration):
    dependencies = [("audit", "0006_drop_redundant_workspace_index")]

    # PostgreSQL only; a no-op on SQLite.
    operations = [migrations.RunPython(install, uninstall)]
