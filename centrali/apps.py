from django.apps import AppConfig


class CentraliConfig(AppConfig):
    name = "centrali"
    verbose_name = "Centrali platform plumbing"

    def ready(self) -> None:
        from django.conf import settings

        from centrali import checks  # noqa: F401  registers the system checks
        from centrali.api import schema  # noqa: F401  registers the OpenAPI extensions
        from centrali.api.metrics import register_scrape_time_collector
        from centrali.celery import app
        from centrali.metrics import QueueLengthCollector

        queues = {app.conf.task_default_queue, *(queue.name for queue in app.conf.task_queues or ())}
        register_scrape_time_collector(QueueLengthCollector(redis_url=settings.REDIS_URL, queues=sorted(queues)))
