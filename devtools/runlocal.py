"""`python -m devtools.runlocal`: the whole service on one machine, for `make run`.

Starts the API (gunicorn), a Celery worker, Celery beat and (without STRIPE_SECRET_KEY) the
local Stripe sandbox, and keeps them running until Ctrl-C. Without REDIS_URL the worker reads
the filesystem broker under var/, so tasks really run asynchronously with nothing else installed.

The service gets a local PLATFORM_SERVICE_TOKEN (generated once, kept in var/), so the internal
endpoints (usage ingestion) work at once; and var/local.env holds the settings the processes
run with, so that commands in another shell (`source var/local.env`) talk to the same Stripe,
database and broker.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from devtools.stripe_sandbox import LOCAL_ENV, LOCAL_PORT, wait_until_listening

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

# What a command in another shell needs to act on the same service: written to var/local.env
# (those set; the Stripe ones and PLATFORM_SERVICE_TOKEN always are).
SHARED_SETTINGS = (
    "STRIPE_SECRET_KEY",
    "STRIPE_PUBLISHABLE_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "STRIPE_API_BASE",
    "PLATFORM_SERVICE_TOKEN",
    "DATABASE_URL",
    "REDIS_URL",
    "DJANGO_SECRET_KEY",
    "JWT_ALGORITHM",
    "JWT_SIGNING_KEY",
    "JWT_VERIFYING_KEY",
)

# The processes whose metrics are merged across their own children (gunicorn workers, a prefork pool).
METRICS_PROCESSES = ("web", "worker")
LOCAL_WORKER_METRICS_PORT = 9808


class LocalService:
    """The processes of the local service, started together and stopped together."""

    def __init__(self, *, bind: str, var_dir: Path = VAR_DIR) -> None:
        self.bind = bind
        self.var_dir = var_dir
        self.env_file = var_dir / "local.env"

    def processes(self) -> dict[str, list[str]]:
        """name -> argv of every process the local service needs."""
        bin_dir = os.path.dirname(sys.executable)
        var = self.var_dir
        return {
            "web": [
                os.path.join(bin_dir, "gunicorn"),
                "--config",
                "centrali/gunicorn_config.py",
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
                str(self.var_dir / "stripe-sandbox.pickle"),
                "--webhook-url",
                f"http://{self.bind}/workspace/api/v1/webhooks/stripe",
                "--webhook-secret",
                LOCAL_ENV["STRIPE_WEBHOOK_SECRET"],
            ]
        }

    def environment(self) -> dict[str, str]:
        """The children's environment: the sandbox's Stripe settings unless real ones are set, and
        a PLATFORM_SERVICE_TOKEN (the one in the environment, else the local one)."""
        env = os.environ.copy()
        if not env.get("STRIPE_SECRET_KEY"):
            env.update(LOCAL_ENV)
        if not env.get("PLATFORM_SERVICE_TOKEN"):
            env["PLATFORM_SERVICE_TOKEN"] = self.local_service_token()
        return env

    def process_environment(self, name: str, env: dict[str, str]) -> dict[str, str]:
        """One process's environment: web and worker each merge their processes' metrics in a
        directory of their own under var/metrics (emptied as they start), and the worker serves
        its metrics on CELERY_METRICS_PORT (9808 unless set)."""
        if name not in METRICS_PROCESSES:
            return env
        own = {**env, "PROMETHEUS_MULTIPROC_DIR": str(self.var_dir / "metrics" / name)}
        if name == "worker":
            own.setdefault("CELERY_METRICS_PORT", str(LOCAL_WORKER_METRICS_PORT))
            own.setdefault("CELERY_METRICS_ADDR", "127.0.0.1")
        return own

    def local_service_token(self) -> str:
        """The local platform service token: generated on the first run, the same on every later one."""
        path = self.var_dir / "platform-service-token"
        if path.exists():
            return path.read_text().strip()
        token = secrets.token_urlsafe(32)
        path.touch(mode=0o600)
        path.write_text(token + "\n")
        return token

    def write_env_file(self, env: dict[str, str]) -> None:
        """var/local.env: `export` lines a shell can `source` (readable by this user only: it holds keys)."""
        lines = [
            "# Written by `make run` (python -m devtools.runlocal): the settings its processes run with.",
            "# In another shell: source var/local.env",
        ]
        lines += [f"export {name}={shlex.quote(env[name])}" for name in SHARED_SETTINGS if env.get(name)]
        self.env_file.touch(mode=0o600)
        self.env_file.chmod(0o600)
        self.env_file.write_text("\n".join(lines) + "\n")

    def announce(self, env: dict[str, str], *, sandbox: bool) -> None:
        """What a developer needs to call the local service from elsewhere."""
        print(f"API at http://{self.bind}/workspace/api/v1/ (docs: /workspace/api/v1/docs)")
        if sandbox:
            print(f"local Stripe sandbox at {env['STRIPE_API_BASE']}")
            print(f"  publishable key: {env['STRIPE_PUBLISHABLE_KEY']}")
            print(f"  webhook secret:  {env['STRIPE_WEBHOOK_SECRET']}")
        print(f"PLATFORM_SERVICE_TOKEN for the internal endpoints: {env['PLATFORM_SERVICE_TOKEN']}")
        print(f"settings for commands in another shell: source {self.env_file}")
        print(
            f"metrics: http://{self.bind}/workspace/api/v1/metrics (web),"
            f" http://127.0.0.1:{env.get('CELERY_METRICS_PORT', LOCAL_WORKER_METRICS_PORT)}/metrics (worker)"
        )

    def sync_plans_into_sandbox(self, env: dict[str, str]) -> None:
        if not wait_until_listening(LOCAL_PORT):
            print("the local Stripe sandbox did not start; billing endpoints will answer 503", file=sys.stderr)
            return
        subprocess.run([sys.executable, "manage.py", "sync_plans_to_stripe"], cwd=BASE_DIR, env=env, check=False)

    def run(self) -> None:
        self.var_dir.mkdir(parents=True, exist_ok=True)
        for folder in ("celery-broker", "celery-processed", "celery-control"):
            (self.var_dir / folder).mkdir(exist_ok=True)
        children: dict[str, subprocess.Popen[bytes]] = {}
        env = self.environment()
        self.write_env_file(env)
        for name, argv in self.processes().items():
            print(f"starting {name}: {' '.join(argv)}")
            children[name] = subprocess.Popen(argv, cwd=BASE_DIR, env=self.process_environment(name, env))
        if "stripe" in children:
            self.sync_plans_into_sandbox(env)
        self.announce(env, sandbox="stripe" in children)

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
