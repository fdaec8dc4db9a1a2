"""`python -m devtools.fuzz` (`make fuzz`): schemathesis against the live service, as CI runs it.

Starts the stack on loopback (gunicorn, a Celery worker on Redis, the local Stripe sandbox delivering
its webhooks, PostgreSQL), signs up an owner with a workspace, pins `{slug}` to it, and runs:

1. the service's own `/openapi.json` with every check, every phase (examples, coverage, fuzzing, and
   the stateful phase following the links the schema declares), on every operation but the three
   that end a workspace's life;
2. those three (DELETE /{slug}, POST /{slug}/delete, POST /{slug}/restore), with every check, on a
   second workspace of their own, so cancelling it blocks nothing the first pass exercises;
3. the committed contract (contract/workspace-service.openapi.json) with the checks it can judge:
   it lists only some status codes and headers of each operation, so only "no server error",
   "the body matches the documented schema" and "the content type is the documented one".

A fixed seed and a bounded number of examples per operation make a run repeatable; it exits non-zero
when any pass reports a failure or an error. Platform (`/internal/`) operations authenticate with the
PLATFORM_SERVICE_TOKEN the stack is started with, the rest with the owner's token.

Every judgement call is configured below (`_config`), each with why:
- the Stripe webhook's signature is a secret no generator can produce, so its well-formed requests
  are refused (400 INVALID_SIGNATURE);
- a few operations may refuse a schema-valid request with their documented 400 for what no schema
  can say (STATE_OR_CROSS_FIELD_400S: two fields that must agree, the workspace's or a service's
  state, a cursor the service did not issue); every other one must accept what its schema allows;
- the lifecycle operations' "already cancelled"/"not cancelled" answers are such state too;
- a generated Idempotency-Key is made unique per call (devtools/fuzz_hooks.py): two requests that
  drew the same key would rightly get 422 IDEMPOTENCY_KEY_REUSED;
- the stateful phase chains valid calls only (the other phases send the invalid ones).

Environment: DATABASE_URL (PostgreSQL; the database is dropped and created afresh), REDIS_URL.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bench.servers import REPO, StripeSandboxProcess, WebProcess, WorkerProcess, free_port
from devtools.stripe_sandbox import LOCAL_ENV

CONTRACT = REPO / "contract" / "workspace-service.openapi.json"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/centrali_fuzz"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
PASSWORD = "fuzz-" + secrets.token_urlsafe(16)  # a throwaway owner of a throwaway database
LIFECYCLE = [("DELETE", "/{slug}"), ("POST", "/{slug}/delete"), ("POST", "/{slug}/restore")]
CONTRACT_CHECKS = "not_a_server_error,response_schema_conformance,content_type_conformance"


def _recreate_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise SystemExit(f"DATABASE_URL must be PostgreSQL, not {parts.scheme}")
    name = parts.path.lstrip("/")
    admin = urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=env, check=True)


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 -- the service on loopback
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        answer: dict[str, Any] = json.loads(response.read())
        return answer


def _sign_up(base_url: str, name: str) -> tuple[str, str]:
    """(slug, owner's token) of a new workspace."""
    handle = f"{name.lower().replace(' ', '-')}-{secrets.token_hex(3)}"
    name = handle.replace("-", " ")
    answer = _post(
        f"{base_url}/",
        {
            "name": name,
            "email": f"{handle}@fuzz.test",
            "username": handle.replace("-", "_"),
            "password": PASSWORD,
            "passwordConfirmation": PASSWORD,
        },
    )
    return answer["workspace"]["slug"], answer["auth_token"]


def _config(*, slug: str, token: str, service_token: str, seed: int, examples: int, lifecycle: bool = False) -> str:
    """schemathesis.toml of the passes (the operation filters come from the command line)."""
    return (
        f"""
seed = {seed}
workers = 1
hooks = "devtools.fuzz_hooks"

[generation]
max-examples = {examples}
# Rejected NUL bytes say nothing (PostgreSQL text can hold none; the service answers 400 for them).
allow-x00 = false
database = "none"

[parameters]
"path.slug" = "{slug}"

[auth.openapi.bearerAuth]
bearer = "{token}"

[auth.openapi.platformServiceAuth]
bearer = "{service_token}"

[phases.stateful]
max-steps = 20
# Sequences of valid calls: the other phases send the invalid ones.
generation.mode = "positive"

# Stripe signs its webhooks with a secret; a generated Stripe-Signature is never valid, so a
# well-formed request is refused (400 INVALID_SIGNATURE) by design.
[[operations]]
include-path = "/webhooks/stripe"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400"]
"""
        + _DOCUMENTED_400S
        + (_LIFECYCLE_STATE if lifecycle else _WITHOUT_LIFECYCLE)
    )


# Valid requests that a documented 400 may still refuse, for what no request schema can say: how two
# fields or parameters relate, or the state of the workspace. Every other operation must accept every
# request its schema calls valid (2xx, or 401/403/404/409 for credentials, roles and missing objects).
STATE_OR_CROSS_FIELD_400S = {
    "POST /": "password and passwordConfirmation must match and pass the password validators",
    "POST /internal/audit-events": "WORKSPACE_NOT_FOUND: an event naming a workspace that does not exist",
    "POST /{slug}/provision-status/retry": "SERVICE_NOT_FAILED, UNKNOWN_SERVICE: the service's state here",
    "PATCH /{slug}/overage": "OVERAGE_NOT_OFFERED, a default payment method: the plan and the customer",
    "GET /{slug}/usage/historical": "endDate not before startDate, at most 366 buckets",
    "GET /{slug}/audit/activity": "dateTo after dateFrom; INVALID_CURSOR: a cursor the service did not issue",
    "GET /{slug}/audit/export": "dateTo after dateFrom",
    "GET /{slug}/audit/{resourceType}/{resourceId}/history": "INVALID_CURSOR: a cursor the service did not issue",
    "GET /{slug}/support-issues/{id}/comments": "INVALID_CURSOR: a cursor the service did not issue",
}
_DOCUMENTED_400S = "".join(
    f"""
# {why}
[[operations]]
include-name = "{name}"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409"]
"""
    for name, why in STATE_OR_CROSS_FIELD_400S.items()
)


# The lifecycle pass: cancelling a cancelled workspace, or restoring an active one, is a documented
# 400 (WORKSPACE_PENDING_DELETION, WORKSPACE_NOT_DELETED): state no request schema can express.
_LIFECYCLE_NAMES = ", ".join(f'"{method} {path}"' for method, path in LIFECYCLE)
_LIFECYCLE_STATE = f"""
[[operations]]
include-name = [{_LIFECYCLE_NAMES}]
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409"]
"""
# The other passes leave the lifecycle operations to the lifecycle pass.
_WITHOUT_LIFECYCLE = f"""
[[operations]]
include-name = [{_LIFECYCLE_NAMES}]
enabled = false
"""


def _schemathesis(config: Path, location: str, *args: str, base_url: str | None = None) -> int:
    command = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run", location]
    if base_url:
        command += ["--url", base_url]
    command += ["--no-color", *args]
    print("$ " + " ".join(command), flush=True)
    started = time.monotonic()
    code = subprocess.run(command, cwd=REPO, check=False).returncode
    print(f"--> exit {code} in {time.monotonic() - started:.0f}s", flush=True)
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--examples", type=int, default=10, help="at most this many generated cases per operation")
    parser.add_argument("--port", type=int, default=0, help="gunicorn's port (default: a free one)")
    parser.add_argument("--stripe-port", type=int, default=0, help="the Stripe sandbox's port (default: a free one)")
    parser.add_argument("--only", choices=["service", "lifecycle", "contract"], action="append")
    parser.add_argument("--reuse-database", action="store_true", help="migrate the database in place (faster reruns)")
    parser.add_argument("--keep-logs", action="store_true", help="keep the processes' logs (their folder is printed)")
    args = parser.parse_args(argv)
    passes = args.only or ["service", "lifecycle", "contract"]
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))  # run `finally`: stop the stack

    work = Path(tempfile.mkdtemp(prefix="centrali-fuzz-"))
    port = args.port or free_port()
    stripe_port = args.stripe_port or free_port()
    service_token = secrets.token_urlsafe(32)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "centrali.settings",
        "DATABASE_URL": os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL),
        "REDIS_URL": os.environ.get("REDIS_URL", DEFAULT_REDIS_URL),
        "DJANGO_SECRET_KEY": "fuzz-" + secrets.token_urlsafe(32),
        "PLATFORM_SERVICE_TOKEN": service_token,
        "RATE_LIMITS": "off",
        "MEDIA_ROOT": str(work / "media"),
        "LOG_LEVEL": "WARNING",
        **LOCAL_ENV,
        "STRIPE_API_BASE": f"http://127.0.0.1:{stripe_port}",
    }
    if not args.reuse_database:
        _recreate_database(env["DATABASE_URL"])
    _manage(env, "migrate", "--noinput", "--verbosity", "0")
    processes: list[Any] = []
    failed = False
    started = time.monotonic()
    try:
        base_url = f"http://127.0.0.1:{port}/workspace/api/v1"
        stripe = StripeSandboxProcess(
            env,
            port=stripe_port,
            log_path=work / "stripe.log",
            webhook_url=f"{base_url}/webhooks/stripe",
            webhook_secret=LOCAL_ENV["STRIPE_WEBHOOK_SECRET"],
        )
        processes.append(stripe)
        stripe.wait_until_ready()
        _manage(env, "sync_plans_to_stripe")
        processes.append(WorkerProcess(env, name="fuzz", log_path=work / "worker.log", concurrency=1))
        web = WebProcess(env, port=port, log_path=work / "web.log", workers=2, threads=2)
        processes.append(web)
        web.wait_until_ready()

        common = ["--checks", "all"]
        codes: dict[str, int] = {}
        if "service" in passes:
            slug, token = _sign_up(base_url, "Fuzz Main")
            config = work / "service.toml"
            config.write_text(_config(slug=slug, token=token, service_token=service_token, seed=args.seed,
                                      examples=args.examples))  # fmt: skip
            location = f"{base_url}/openapi.json"
            codes["service"] = _schemathesis(config, location, *common, "--phases", "examples,coverage,fuzzing")
            # The stateful phase sends valid calls only, so "invalid data is rejected" has nothing to judge
            # there (schemathesis 4.32 reports some of its valid steps as "invalid data accepted").
            codes["stateful"] = _schemathesis(
                config, location, *common, "--phases", "stateful", "--exclude-checks", "negative_data_rejection"
            )
        if "lifecycle" in passes:
            slug, token = _sign_up(base_url, "Fuzz Lifecycle")
            config = work / "lifecycle.toml"
            config.write_text(_config(slug=slug, token=token, service_token=service_token, seed=args.seed,
                                      examples=args.examples, lifecycle=True))  # fmt: skip
            only = [arg for method, path in LIFECYCLE for arg in ("--include-name", f"{method} {path}")]
            only += ["--phases", "examples,coverage,fuzzing"]  # no link joins these three
            codes["lifecycle"] = _schemathesis(config, f"{base_url}/openapi.json", *common, *only)
        if "contract" in passes:
            slug, token = _sign_up(base_url, "Fuzz Contract")
            config = work / "contract.toml"
            config.write_text(_config(slug=slug, token=token, service_token=service_token, seed=args.seed,
                                      examples=args.examples))  # fmt: skip
            codes["contract"] = _schemathesis(config, str(CONTRACT), "--checks", CONTRACT_CHECKS, base_url=base_url)
        failed = any(codes.values())
        print(f"schemathesis: {codes} in {time.monotonic() - started:.0f}s", flush=True)
    finally:
        for process in reversed(processes):
            process.stop()
        if failed or args.keep_logs:
            for process in processes:
                print(f"--- {process.log_path.name} (last lines) ---\n{process.output(2000)}")
            print(f"logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
