from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit"

    def ready(self):
        from audit.exports import EXPORT_SECTIONS
        from centrali.exports import register_export_sections

        register_export_sections(EXPORT_SECTIONS)
