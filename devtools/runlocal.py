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
            **self.stripe_sandbox(bind),
        }

    def stripe_sandbox(self, bind):
        """Without STRIPE_SECRET_KEY in the environment: a local Stripe (billing.stripe_sandbox) on 127.0.0.1:8420."""
        if os.environ.get("STRIPE_SECRET_KEY"):
            return {}
        from billing.stripe_sandbox import LOCAL_ENV, LOCAL_PORT

        return {
            "stripe": [
                sys.executable, "-m", "billing.stripe_sandbox", "--port", str(LOCAL_PORT),
                "--state-file", str(settings.VAR_DIR / "stripe-sandbox.pickle"),
                "--webhook-url", f"http://{bind}/workspace/api/v1/webhooks/stripe",
                "--webhook-secret", LOCAL_ENV["STRIPE_WEBHOOK_SECRET"],
            ]
        }

    def environment(self):
        """The children's environment: the sandbox's Stripe settings unless real ones are set."""
        env = os.environ.copy()
        if not env.get("STRIPE_SECRET_KEY"):
            from billing.stripe_sandbox import LOCAL_ENV

            env.update(LOCAL_ENV)
        return env

    def sync_plans_into_sandbox(self, env):
        from billing.stripe_sandbox import LOCAL_PORT, wait_until_listening

        if not wait_until_listening(LOCAL_PORT):
            self.stderr.write("the local Stripe sandbox did not start; billing endpoints will answer 503")
            return
        subprocess.run([sys.executable, "manage.py", "sync_plans_to_stripe"], env=env, check=False)

    def handle(self, *args, bind, **options):
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        for folder in ("celery-broker", "celery-processed", "celery-control"):
            (settings.VAR_DIR / folder).mkdir(exist_ok=True)
        children = {}
        env = self.environment()
        for name, argv in self.processes(bind).items():
            self.stdout.write(f"starting {name}: {' '.join(argv)}")
            children[name] = subprocess.Popen(argv, env=env)
        if "stripe" in children:
            self.sync_plans_into_sandbox(env)
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
