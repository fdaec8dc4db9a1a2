from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    name = "workspaces"
    verbose_name = "Workspaces"

    def ready(self):
        from centrali.api.metrics import register_scrape_time_collector
        from centrali.exports import register_export_section
        from workspaces.exports import SECTIONS
        from workspaces.metrics import WorkspacesByStatusCollector

        register_scrape_time_collector(WorkspacesByStatusCollector())
        for section in SECTIONS:
            register_export_section(section)
