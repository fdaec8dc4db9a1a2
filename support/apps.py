from django.apps import AppConfig


class SupportConfig(AppConfig):
    name = "support"
    verbose_name = "Support"

    def ready(self):
        from centrali.exports import register_export_section
        from support.exports import SUPPORT_COMMENTS_SECTION, SUPPORT_ISSUES_SECTION

        register_export_section(SUPPORT_ISSUES_SECTION)
        register_export_section(SUPPORT_COMMENTS_SECTION)
