from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit"

    def ready(self):
        from audit.exports import AUDIT_EVENTS_SECTION
        from centrali.exports import register_export_section

        register_export_section(AUDIT_EVENTS_SECTION)
