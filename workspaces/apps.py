from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    name = "workspaces"
    verbose_name = "Workspaces"

    def ready(self):
        from centrali.api.metrics import register_scrape_time_collector
        from centrali.exports import register_export_sections
        from workspaces.exports import EXPORT_SECTIONS
        from workspaces.metrics import WorkspacesByStatusCollector

        register_scrape_time_collector(WorkspacesByStatusCollector())
        register_export_sections(EXPORT_SECTIONS)
