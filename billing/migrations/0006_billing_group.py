from django.contrib.auth.management import create_permissions
from django.db import migrations

from billing.roles import sync_billing_group


def create_billing_group(apps, schema_editor):
    # Permissions are normally created after all migrations ran; the group needs them now.
    for label in ("billing", "djstripe"):
        app_config = apps.get_app_config(label)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    sync_billing_group(
        group_model=apps.get_model("auth", "Group"), permission_model=apps.get_model("auth", "Permission")
    )


def remove_billing_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Billing").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0005_workspace_billing_console"),
        ("djstripe", "0003_2_11"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_billing_group, remove_billing_group)]
