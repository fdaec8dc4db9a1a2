FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/centrali-metrics \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
RUN DJANGO_SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput --verbosity 0 \
    && useradd --system --uid 10001 --home-dir /app centrali \
    && mkdir -p /app/var/media /tmp/centrali-metrics && chown -R centrali /app/var /tmp/centrali-metrics

USER centrali
EXPOSE 8000

# The web process's liveness: /healthz answers while it can serve (it checks no dependency, so a
# database outage never gets healthy containers restarted). Readiness (/readyz: database, broker,
# cache, export storage) is for the load balancer or orchestrator; docker-compose.yml gives the
# worker and beat services probes of their own.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/workspace/api/v1/healthz', timeout=4).status == 200 else 1)"

# Metrics: every process of a container writes its samples under PROMETHEUS_MULTIPROC_DIR, so
# /metrics adds up all 4 workers (centrali/gunicorn_config.py empties it at start and marks
# exited workers dead). A Celery worker serves its own on CELERY_METRICS_PORT (README, Operations).
# Traces: set OTEL_EXPORTER_OTLP_ENDPOINT (off without it).
CMD ["gunicorn", "--config", "centrali/gunicorn_config.py", "centrali.wsgi", "--bind", "0.0.0.0:8000", "--workers", "4", "--threads", "2"]
