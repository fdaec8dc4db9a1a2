from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self):
        from billing import gateway, receivers  # noqa: F401  (signal receivers)
        from billing.exports import EXPORT_SECTIONS
        from centrali.exports import register_export_sections

        gateway.configure_stripe()
        register_export_sections(EXPORT_SECTIONS)
