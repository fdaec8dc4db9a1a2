import os

from django.core.wsgi import get_wsgi_application

from centrali.tracing import configure_tracing

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "centrali.settings")
# Before the handler loads the middleware: Django's instrumentation adds its own (a no-op unless
# OTEL_EXPORTER_OTLP_ENDPOINT is set).
configure_tracing(service_name="centrali-web")
application = get_wsgi_application()
