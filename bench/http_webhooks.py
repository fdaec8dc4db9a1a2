"""Signed Stripe webhook deliveries per second over real HTTP, every event delivered twice (issue 12).

`measure(base_url, seconds=..., webhook_secret=...)` drives a running service (and its Celery
worker) from 8 threads for `seconds`: each thread signs a new event as Stripe does, POSTs it to
/webhooks/stripe, then POSTs it again (a redelivery, answered `duplicate: true`). It then waits for
the worker to drain and reads from the database how many of the sent events are `applied` (it must
be every one, each once). The events are of the types the service handles, about customers that
are not the service's own, so the worker records them without a Stripe request; with
`customer_id` (a Stripe customer of one of the service's workspaces), every other event is a
`customer.updated` about it, which the worker re-fetches from Stripe and syncs. bench/http.py
(`make bench-http`) calls `measure()` against its own server; standalone, this module starts its
own service:

    .venv/bin/python -m bench.http_webhooks [--seconds 10]

gunicorn (the Dockerfile's command line) and one Celery worker on a PostgreSQL database created
for the run (BENCH_WEBHOOKS_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/centrali_a2_bench,
copied from a migrated `<name>_template` kept between runs; dropped afterwards), REDIS_URL (default redis://127.0.0.1:6379/2) as broker and cache, and the local
Stripe (devtools.stripe_sandbox) holding that workspace's customer. BENCH_WEBHOOKS_PORT sets the
first of the three ports it uses (default: free ones).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import requests

THREADS = 8
DRAIN_TIMEOUT_SECONDS = 300
HANDLED_TYPES = ("invoice.paid", "invoice.payment_failed", "customer.subscription.updated", "payment_method.detached")


def _event(number: int, customer_id: str | None) -> dict:
    from tests.billing.helpers import stripe_event  # after django.setup(): it imports DRF

    if customer_id is not None and number % 2 == 0:
        event_type, obj = "customer.updated", {"id": customer_id, "object": "customer"}
    else:
        event_type = HANDLED_TYPES[number % len(HANDLED_TYPES)]
        kind = event_type.split(".")[-2] if event_type.startswith("customer.") else event_type.split(".")[0]
        obj = {"id": f"bench_{number}", "object": kind, "customer": f"cus_bench_{secrets.token_hex(4)}"}
    return stripe_event(event_type, obj)


def _applied(event_ids: list[str]) -> tuple[int, int]:
    """(applied, failed) among `event_ids`, from the service's database."""
    from billing.models import StripeWebhookEvent

    applied = failed = 0
    for start in range(0, len(event_ids), 5000):
        chunk = StripeWebhookEvent.objects.filter(stripe_event_id__in=event_ids[start : start + 5000])
        applied += chunk.filter(status="applied").count()
        failed += chunk.filter(status="failed").count()
    return applied, failed


def measure(base_url: str, *, seconds: float, webhook_secret: str, customer_id: str | None = None) -> dict:
    """Deliver signed events twice each for `seconds`, wait for the worker, count what it applied.

    Needs Django set up on the service's database (to read which events are applied). Raises
    when an answer is not the expected 200, or when not every event sent is applied once.
    """
    from tests.billing.helpers import sign  # after django.setup(): it imports DRF

    url = f"{base_url}/webhooks/stripe"
    deadline = time.monotonic() + seconds
    sent: list[str] = []
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    counter = iter(range(10**9))

    def deliver() -> None:
        session = requests.Session()
        while time.monotonic() < deadline and not errors:
            with lock:
                number = next(counter)
            event = _event(number, customer_id)
            payload = json.dumps(event)
            for duplicate in (False, True):
                started = time.perf_counter()
                response = session.post(
                    url,
                    data=payload,
                    headers={
                        "Content-Type": "application/json",
                        "Stripe-Signature": sign(payload, secret=webhook_secret),
                    },
                    timeout=30,
                )
                elapsed = time.perf_counter() - started
                answer = response.json() if response.status_code == 200 else None
                with lock:
                    if answer != {"received": True, "duplicate": duplicate}:
                        errors.append(f"{response.status_code} {response.text[:200]} (duplicate={duplicate})")
                        return
                    latencies.append(elapsed)
                    if not duplicate:
                        sent.append(event["id"])

    started = time.monotonic()
    threads = [threading.Thread(target=deliver) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    if errors:
        raise RuntimeError(f"bench.http_webhooks: an unexpected answer: {errors[0]}")

    drain_started = time.monotonic()
    while True:
        applied, failed = _applied(sent)
        if applied + failed == len(sent) or time.monotonic() - drain_started > DRAIN_TIMEOUT_SECONDS:
            break
        time.sleep(0.5)
    drained_in = time.monotonic() - drain_started
    figures = {
        "deliveries_per_s": round(len(latencies) / elapsed, 1),
        "events_sent": len(sent),
        "events_applied": applied,
        "events_failed": failed,
        "ack_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "ack_p99_ms": round(statistics.quantiles(latencies, n=100)[98] * 1000, 1) if len(latencies) > 1 else None,
        "drain_s_after_last_delivery": round(drained_in, 1),
        "events_applied_per_s": round(applied / (elapsed + drained_in), 1),
    }
    if applied != len(sent):
        raise RuntimeError(f"bench.http_webhooks: {applied} of {len(sent)} events applied: {figures}")
    return figures


# --- standalone: a service of its own


def _psql(admin_url: str, sql: str) -> None:
    subprocess.run(["psql", admin_url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql], check=True, capture_output=True)


def _psql_value(admin_url: str, sql: str) -> str:
    result = subprocess.run(["psql", admin_url, "-tAq", "-c", sql], check=True, capture_output=True, text=True)
    return result.stdout.strip()


def _create_migrated_database(admin_url: str, name: str) -> None:
    """`name`, a copy of `<name>_template`, rebuilt by `migrate` only when the migrations changed."""
    from django.core.management import call_command
    from django.db import connections

    repo = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(repo.glob("*/migrations/*.py")):
        digest.update(str(path.relative_to(repo)).encode() + b"\0" + path.read_bytes())
    template, wanted = f"{name}_template", digest.hexdigest()[:16]
    current = _psql_value(
        admin_url, f"SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '{template}'"
    )
    if current != wanted:
        _psql(admin_url, f'DROP DATABASE IF EXISTS "{template}"')
        _psql(admin_url, f'CREATE DATABASE "{template}"')
        connections["default"].settings_dict["NAME"] = template
        call_command("migrate", "--noinput", verbosity=0)
        connections.close_all()
        connections["default"].settings_dict["NAME"] = name
        _psql(admin_url, f"COMMENT ON DATABASE \"{template}\" IS '{wanted}'")
    _psql(admin_url, f'DROP DATABASE IF EXISTS "{name}"')
    _psql(admin_url, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    options = parser.parse_args()

    from bench.servers import StripeSandboxProcess, WebProcess, WorkerProcess, dockerfile_gunicorn, free_port

    database_url = os.environ.get("BENCH_WEBHOOKS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/centrali_a2_bench")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/2")
    first_port = int(os.environ.get("BENCH_WEBHOOKS_PORT") or 0)
    web_port, stripe_port = (first_port, first_port + 1) if first_port else (free_port(), free_port())
    secret_key, webhook_secret = "sk_test_" + "centraliSandboxSecretKey0001", "whsec_bench_webhooks"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "centrali.settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DJANGO_SECRET_KEY": "bench-webhooks-secret-key-" + "x" * 40,
        "DJANGO_DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "RATE_LIMITS": "off",
        "STRIPE_SECRET_KEY": secret_key,
        "STRIPE_WEBHOOK_SECRET": webhook_secret,
        "STRIPE_API_BASE": f"http://127.0.0.1:{stripe_port}",
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    work = Path(tempfile.mkdtemp(prefix="centrali-bench-webhooks-"))
    (work / "metrics").mkdir()
    env["PROMETHEUS_MULTIPROC_DIR"] = str(work / "metrics")  # as the image sets it
    os.environ.update(env)
    name = urlparse(database_url).path.lstrip("/")
    admin_url = urlparse(database_url)._replace(path="/postgres").geturl()
    processes: list = []
    try:
        import django

        django.setup()
        from django.db import connections

        _create_migrated_database(admin_url, name)
        processes.append(StripeSandboxProcess(env, port=stripe_port, log_path=work / "stripe.log").wait_until_ready())
        customer_id = _workspace_customer()
        connections.close_all()
        from centrali.celery import app

        app.control.purge()  # nothing left in this Redis database from an earlier run

        class Web(WebProcess):
            def __init__(self) -> None:
                self.port = web_port
                self.base_url = f"http://127.0.0.1:{web_port}/workspace/api/v1"
                self.command = [sys.executable, "-m", "gunicorn", *dockerfile_gunicorn()[0],
                                "--bind", f"127.0.0.1:{web_port}"]  # fmt: skip
                super(WebProcess, self).__init__(self.command, env, work / "gunicorn.log")

        web = Web()
        processes.append(web)
        web.wait_until_ready()
        processes.append(WorkerProcess(env, name="bench-webhooks", log_path=work / "worker.log"))
        figures = measure(web.base_url, seconds=options.seconds, webhook_secret=webhook_secret, customer_id=customer_id)
        print(json.dumps({**figures, "gunicorn": " ".join(web.command[2:])}, indent=2))
    finally:
        for process in reversed(processes):
            process.stop()
        from django.db import connections

        connections.close_all()
        _psql(admin_url, f'DROP DATABASE IF EXISTS "{name}"')
        print(f"logs: {work}", file=sys.stderr)


def _workspace_customer() -> str:
    """A workspace with its Stripe customer in the local Stripe (and synced locally): its id."""
    from billing import services
    from billing.models import Plan
    from workspaces.models import Membership, User, Workspace

    owner = User.objects.create_user(username="bench-owner", email="owner@bench.example", password=None)
    workspace = Workspace.objects.create(
        name="Bench webhooks", slug="bench-webhooks", owner=owner, plan=Plan.objects.get(code="free")
    )
    Membership.objects.create(workspace=workspace, user=owner, role="owner")
    return str(services.ensure_customer(workspace=workspace).id)


if __name__ == "__main__":
    main()
