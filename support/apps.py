from django.apps import AppConfig


class SupportConfig(AppConfig):
    name = "support"
    verbose_name = "Support"

    def ready(self):
        from centrali.exports import register_export_sections
        from support.exports import EXPORT_SECTIONS

        register_export_sections(EXPORT_SECTIONS)
