from django.apps import AppConfig


class CentraliConfig(AppConfig):
    name = "centrali"
    verbose_name = "Centrali platform plumbing"

    def ready(self) -> None:
        from centrali.api import schema  # noqa: F401  registers the OpenAPI extensions
