import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "centrali.settings")

app = Celery("centrali")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
