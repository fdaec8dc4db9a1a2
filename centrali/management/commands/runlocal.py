"""`manage.py runlocal`: the whole service on one machine, for `make run`.

Starts the API (gunicorn), a Celery worker and Celery beat, and keeps them running
until Ctrl-C. Without REDIS_URL the worker reads the filesystem broker under var/,
so tasks really run asynchronously with nothing else installed.
"""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the API, a Celery worker and beat together (local development)."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default="127.0.0.1:8000")

    def processes(self, bind):
        """name -> argv of every process the local service needs."""
        bin_dir = os.path.dirname(sys.executable)
        var = settings.VAR_DIR
        return {
            "web": [
                os.path.join(bin_dir, "gunicorn"), "centrali.wsgi", "--bind", bind, "--workers", "2",
                "--threads", "4", "--access-logfile", "-",
            ],
            "worker": [
                os.path.join(bin_dir, "celery"), "-A", "centrali", "worker", "--loglevel", "INFO",
                "--concurrency", "2", "--hostname", "local@%h",
            ],
            "beat": [
                os.path.join(bin_dir, "celery"), "-A", "centrali", "beat", "--loglevel", "INFO",
                "--schedule", str(var / "celerybeat-schedule"),
            ],
        }

    def handle(self, *args, bind, **options):
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        for folder in ("celery-broker", "celery-processed"):
            (settings.VAR_DIR / folder).mkdir(exist_ok=True)
        children = {}
        for name, argv in self.processes(bind).items():
            self.stdout.write(f"starting {name}: {' '.join(argv)}")
            children[name] = subprocess.Popen(argv, env=os.environ.copy())
        self.stdout.write(self.style.SUCCESS(f"API at http://{bind}/workspace/api/v1/ (docs: /workspace/api/v1/docs)"))

        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping:
                for name, child in children.items():
                    if child.poll() is not None:
                        self.stderr.write(f"{name} exited with {child.returncode}; stopping the rest")
                        stopping = True
                time.sleep(0.5)
        finally:
            for child in children.values():
                if child.poll() is None:
                    child.terminate()
            for child in children.values():
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
