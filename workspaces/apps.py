from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    name = "workspaces"
    verbose_name = "Workspaces"

    def ready(self):
        from centrali.exports import register_export_section
        from workspaces.exports import SECTIONS

        for section in SECTIONS:
            register_export_section(section)
