from django.db import migrations

from audit.chain import entry_hash
from audit.db import drop_append_only_trigger, install_append_only_trigger


def rechain_existing_events(apps, schema_editor):
    """Events written before 0003 get the current hash formula and a chain head."""
    AuditEvent = apps.get_model("audit", "AuditEvent")
    AuditChain = apps.get_model("audit", "AuditChain")
    workspace_ids = AuditEvent.objects.order_by().values_list("workspace_id", flat=True).distinct()
    for workspace_id in workspace_ids:
        previous, length = "", 0
        for event in AuditEvent.objects.filter(workspace_id=workspace_id).order_by("id").iterator():
            event.previous_hash = previous
            event.entry_hash = entry_hash(event)
            event.save(update_fields=["previous_hash", "entry_hash"])
            previous, length = event.entry_hash, length + 1
        AuditChain.objects.update_or_create(
            workspace_id=workspace_id, defaults={"head_hash": previous, "length": length}
        )


def install_trigger(apps, schema_editor):
    install_append_only_trigger(schema_editor.connection)


def drop_trigger(apps, schema_editor):
    drop_append_only_trigger(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_chain_head_and_indexes")]

    operations = [
        migrations.RunPython(rechain_existing_events, migrations.RunPython.noop),
        # PostgreSQL only; a no-op on SQLite.
        migrations.RunPython(install_trigger, drop_trigger),
    ]
