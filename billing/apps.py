from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self):
        from billing import exports, gateway, receivers  # noqa: F401  (signal receivers, export sections)

        gateway.configure_stripe()
        exports.register()
