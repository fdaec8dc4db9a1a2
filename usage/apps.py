from django.apps import AppConfig


class UsageConfig(AppConfig):
    name = "usage"
    verbose_name = "Usage"

    def ready(self) -> None:
        from centrali.exports import register_export_sections
        from usage.exports import EXPORT_SECTIONS

        register_export_sections(EXPORT_SECTIONS)
