"""`python -m devtools.runlocal`: the whole service on one machine, for `make run`.

Starts the API (gunicorn), a Celery worker, Celery beat and (without STRIPE_SECRET_KEY) the
local Stripe sandbox, and keeps them running until Ctrl-C. Without REDIS_URL the worker reads
the filesystem broker under var/, so tasks really run asynchronously with nothing else installed.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from devtools.stripe_sandbox import LOCAL_ENV, LOCAL_PORT, wait_until_listening

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"


class LocalService:
    """The processes of the local service, started together and stopped together."""

    def __init__(self, *, bind: str) -> None:
        self.bind = bind

    def processes(self) -> dict[str, list[str]]:
        """name -> argv of every process the local service needs."""
        bin_dir = os.path.dirname(sys.executable)
        var = VAR_DIR
        return {
            "web": [
                os.path.join(bin_dir, "gunicorn"),
                "centrali.wsgi",
                "--bind",
                self.bind,
                "--workers",
                "2",
                "--threads",
                "4",
                "--access-logfile",
                "-",
            ],
            "worker": [
                os.path.join(bin_dir, "celery"),
                "-A",
                "centrali",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                "2",
                "--hostname",
                "local@%h",
            ],
            "beat": [
                os.path.join(bin_dir, "celery"),
                "-A",
                "centrali",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(var / "celerybeat-schedule"),
            ],
            **self.stripe_sandbox(),
        }

    def stripe_sandbox(self) -> dict[str, list[str]]:
        """Without STRIPE_SECRET_KEY in the environment: a local Stripe (devtools.stripe_sandbox) on 127.0.0.1:8420."""
        if os.environ.get("STRIPE_SECRET_KEY"):
            return {}

        return {
            "stripe": [
                sys.executable,
                "-m",
                "devtools.stripe_sandbox",
                "--port",
                str(LOCAL_PORT),
                "--state-file",
                str(VAR_DIR / "stripe-sandbox.pickle"),
                "--webhook-url",
                f"http://{self.bind}/workspace/api/v1/webhooks/stripe",
                "--webhook-secret",
                LOCAL_ENV["STRIPE_WEBHOOK_SECRET"],
            ]
        }

    def environment(self) -> dict[str, str]:
        """The children's environment: the sandbox's Stripe settings unless real ones are set."""
        env = os.environ.copy()
        if not env.get("STRIPE_SECRET_KEY"):
            env.update(LOCAL_ENV)
        return env

    def sync_plans_into_sandbox(self, env: dict[str, str]) -> None:
        if not wait_until_listening(LOCAL_PORT):
            print("the local Stripe sandbox did not start; billing endpoints will answer 503", file=sys.stderr)
            return
        subprocess.run([sys.executable, "manage.py", "sync_plans_to_stripe"], cwd=BASE_DIR, env=env, check=False)

    def run(self) -> None:
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        for folder in ("celery-broker", "celery-processed", "celery-control"):
            (VAR_DIR / folder).mkdir(exist_ok=True)
        children: dict[str, subprocess.Popen[bytes]] = {}
        env = self.environment()
        for name, argv in self.processes().items():
            print(f"starting {name}: {' '.join(argv)}")
            children[name] = subprocess.Popen(argv, cwd=BASE_DIR, env=env)
        if "stripe" in children:
            self.sync_plans_into_sandbox(env)
        print(f"API at http://{self.bind}/workspace/api/v1/ (docs: /workspace/api/v1/docs)")

        stopping = False

        def stop(signum: int, frame: FrameType | None) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping:
                for name, child in children.items():
                    if child.poll() is not None:
                        print(f"{name} exited with {child.returncode}; stopping the rest", file=sys.stderr)
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


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the API, a Celery worker, beat and a local Stripe together.")
    parser.add_argument("--bind", default="127.0.0.1:8000")
    LocalService(bind=parser.parse_args().bind).run()


if __name__ == "__main__":
    main()
