"""Tombstones keep keyed hashes of the owner's email and the slug, never the values themselves."""

from django.db import migrations, models

from centrali.personal_data import email_hash, slug_hash


def hash_existing_tombstones(apps, schema_editor):
    PurgedWorkspace = apps.get_model("workspaces", "PurgedWorkspace")
    for tombstone in PurgedWorkspace.objects.all().iterator(chunk_size=500):
        tombstone.owner_email_hash = email_hash(tombstone.owner_email) if tombstone.owner_email else ""
        tombstone.slug_hash = slug_hash(tombstone.slug) if tombstone.slug else ""
        tombstone.save(update_fields=["owner_email_hash", "slug_hash"])


class Migration(migrations.Migration):
    dependencies = [
        ("workspaces", "0004_workspace_suspension_reason"),
    ]

    operations = [
        migrations.AddField(
            model_name="purgedworkspace",
            name="owner_email_hash",
            field=models.CharField(blank=True, db_index=True, default="", max_length=64),
        ),
        migrations.AddField(
            model_name="purgedworkspace",
            name="slug_hash",
            field=models.CharField(blank=True, db_index=True, default="", max_length=64),
        ),
        # Irreversible: the clear values are gone once hashed.
        migrations.RunPython(hash_existing_tombstones, migrations.RunPython.noop, elidable=False),
        migrations.RemoveIndex(model_name="purgedworkspace", name="purged_workspace_slug"),
        migrations.RemoveField(model_name="purgedworkspace", name="slug"),
        migrations.RemoveField(model_name="purgedworkspace", name="name"),
        migrations.RemoveField(model_name="purgedworkspace", name="owner_email"),
    ]
