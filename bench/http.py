"""The authenticated read hot paths over real HTTP, as ratios to the framework floor (issue 12).

gunicorn runs the service with the Dockerfile's command line (its worker class, workers and
threads) and its ENV on a throwaway PostgreSQL database (migrated, seeded, dropped afterwards), and
`wrk` drives it from a separate process on loopback with 8 connections. The floor is a DRF view
answering a constant JSON body through the same middleware, with no authentication and no
database (`bench/http_urls.py`, mounted only by `bench.http_settings`, never by the service's own
URLconf). Rounds interleave the endpoints, so a noisy neighbour slows all of them alike; each figure
is the median over the rounds and each ratio the median of its per-round ratios to the floor.

Seeded like a busy tenant: 30 members, 200 support issues, 20,000 audit events, 20 days of
usage events in the rollups, 24 invoices (dj-stripe rows, as reconciliation stores them); and
20 other tenants with their own members, issues, events and invoices.

    make bench-http                                # or: .venv/bin/python -m bench.http [--quick]

Environment: BENCH_HTTP_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/centrali_bench_http;
the database is copied from `<name>_template`, migrated once and kept until the migrations change, and
dropped afterwards: `--quick` stays under three minutes once the template exists), REDIS_URL (the
cache and broker, as in production; without it the cache is each process's memory), BENCH_HTTP_PORT
(default: a free port), BENCH_HTTP_SECONDS and BENCH_HTTP_ROUNDS (per endpoint and round). Results go
to stdout and to this bench's section of bench/RESULTS.md. If `bench/http_webhooks.py` exists, its
`measure(...)` runs against the same server (with a Celery worker) and its figures are reported too.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "RESULTS.md"
SECTION_TITLE = "## Hot read paths over HTTP against the floor (`bench/http.py`)"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/centrali_bench_http"
CONNECTIONS = 8
WRK_THREADS = 2
SECRET_KEY = "bench-http-secret-key-" + "x" * 40
SERVICE_TOKEN = "bench-http-service-token"
WEBHOOK_SECRET = "whsec_bench_http"
STRIPE_KEY = "sk_test_bench_http"
SLUG = "acme-analytics"
MEMBERS = 30
ISSUES = 200
AUDIT_EVENTS = 20_000
INVOICES = 24
OTHER_TENANTS = 20
ISSUE_TYPES = ["bug", "question", "feature-request"]
GOALS = {
    "GET /{slug}": 0.5,
    "GET /{slug}/support-issues": 0.25,
    "GET /{slug}/audit/activity": 0.25,
    "GET /{slug}/usage/current": 0.25,
    "GET /{slug}/invoices": 0.25,
    "GET /{slug}/overview": 0.25,
    "GET /internal/workspaces/{slug}/quota": 0.5,
}

database_url = os.environ.get("BENCH_HTTP_DATABASE_URL", DEFAULT_DATABASE_URL)
SERVER_ENV = {
    **os.environ,
    "DJANGO_SETTINGS_MODULE": "bench.http_settings",
    "DATABASE_URL": database_url,
    "DJANGO_SECRET_KEY": SECRET_KEY,
    "DJANGO_DEBUG": "false",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "PLATFORM_SERVICE_TOKEN": SERVICE_TOKEN,
    "STRIPE_SECRET_KEY": STRIPE_KEY,
    "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
    # wrk's few connections would be rate limited within a second; every other setting is the default.
    "RATE_LIMITS": "off",
    "CELERY_TASK_ALWAYS_EAGER": "false",
}
os.environ.update({key: value for key, value in SERVER_ENV.items() if key != "DJANGO_SETTINGS_MODULE"})
os.environ["DJANGO_SETTINGS_MODULE"] = "centrali.settings"  # the seeding process needs no floor

import django  # noqa: E402

django.setup()

from bench.servers import WebProcess, WorkerProcess, dockerfile_gunicorn, free_port  # noqa: E402


def _psql(sql):
    admin = urlparse(database_url)._replace(path="/postgres").geturl()
    subprocess.run(["psql", admin, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql], check=True, capture_output=True)


def _database_name():
    return urlparse(database_url).path.lstrip("/")


def _migrations_digest():
    digest = hashlib.sha256()
    for path in sorted(REPO.glob("*/migrations/*.py")):
        digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _psql_value(sql):
    admin = urlparse(database_url)._replace(path="/postgres").geturl()
    result = subprocess.run(["psql", admin, "-tAq", "-c", sql], check=True, capture_output=True, text=True)
    return result.stdout.strip()


def create_migrated_database(name):
    """`name`, migrated: a copy of `<name>_template`, which is (re)built with `migrate` whenever the
    migration files changed (their digest is the template's comment), so only the first run pays
    for the migrations."""
    from django.core.management import call_command
    from django.db import connections

    template, digest = f"{name}_template", _migrations_digest()
    current = _psql_value(f"SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '{template}'")
    if current != digest:
        started = time.monotonic()
        _psql(f'DROP DATABASE IF EXISTS "{template}"')
        _psql(f'CREATE DATABASE "{template}"')
        connections["default"].settings_dict["NAME"] = template
        call_command("migrate", "--noinput", verbosity=0)
        connections.close_all()
        connections["default"].settings_dict["NAME"] = name
        _psql(f"COMMENT ON DATABASE \"{template}\" IS '{digest}'")
        print(f"migrated the template in {time.monotonic() - started:.0f} s", file=sys.stderr)
    _psql(f'DROP DATABASE IF EXISTS "{name}"')
    _psql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')


# --- seeding


def _tenant(index, *, slug, members, issues, invoices):
    from billing.models import Plan
    from support.models import SupportIssue
    from workspaces.models import Membership, Role, User, Workspace

    owner = User.objects.create_user(username=f"owner{index}", email=f"owner{index}@bench.test", password=None)
    workspace = Workspace.objects.create(
        name=f"Tenant {index}", slug=slug, owner=owner, plan=Plan.objects.get(code="pro"), description="Bench tenant"
    )
    Membership.objects.create(workspace=workspace, user=owner, role=Role.OWNER)
    roles = [Role.ADMIN, Role.BILLING, Role.MEMBER, Role.MEMBER]
    users = User.objects.bulk_create(
        User(username=f"t{index}m{n}", email=f"t{index}m{n}@bench.test", password="!") for n in range(members - 1)
    )
    Membership.objects.bulk_create(
        Membership(workspace=workspace, user=user, role=roles[n % len(roles)]) for n, user in enumerate(users)
    )
    people = [owner, *users]
    SupportIssue.objects.bulk_create(
        SupportIssue(
            workspace=workspace,
            title=f"Issue {n} of tenant {index}",
            description="Dashboards load slowly after the last deploy. " * 4,
            type=ISSUE_TYPES[n % len(ISSUE_TYPES)],
            priority=["low", "medium", "high"][n % 3],
            category=["dashboards", "billing", "api"][n % 3],
            created_by=people[n % len(people)],
        )
        for n in range(issues)
    )
    _invoices(workspace, index, invoices)
    return workspace, people


def _invoices(workspace, index, count):
    from djstripe.models import Customer, Invoice

    customer = Customer.objects.create(
        id=f"cus_bench{index}",
        subscriber=workspace,
        livemode=False,
        email=workspace.owner.email,
        stripe_data={"id": f"cus_bench{index}", "object": "customer", "email": workspace.owner.email},
    )
    start = datetime(2025, 1, 1, tzinfo=UTC)
    rows = []
    for n in range(count):
        created = start + timedelta(days=30 * n)
        stamp = int(created.timestamp())
        invoice_id = f"in_bench{index}x{n}"
        rows.append(
            Invoice(
                id=invoice_id,
                customer=customer,
                livemode=False,
                created=created,
                stripe_data={
                    "id": invoice_id,
                    "object": "invoice",
                    "customer": customer.id,
                    "number": f"BENCH-{index}-{n:04d}",
                    "status": "paid",
                    "currency": "usd",
                    "total": 9900,
                    "amount_paid": 9900,
                    "amount_due": 9900,
                    "created": stamp,
                    "due_date": stamp + 30 * 86400,
                    "period_start": stamp - 30 * 86400,
                    "period_end": stamp,
                    "invoice_pdf": f"https://pay.stripe.test/{invoice_id}/pdf",
                    "hosted_invoice_url": f"https://pay.stripe.test/{invoice_id}",
                },
            )
        )
    Invoice.objects.bulk_create(rows)


def _audit_events(workspace_ids, actor_ids, count):
    """Bulk-loaded in SQL like bench/audit_activity.py; half are the measured tenant's. Chain hashes are
    placeholders: the bench measures reads."""
    from django.db import connection

    from audit.models import AuditEvent

    given = {"id", "workspace", "type", "resource_type", "resource_id", "actor_id", "actor_type", "summary",
             "metadata", "user_agent", "request_id", "created_at", "previous_hash", "entry_hash"}  # fmt: skip
    # Columns the model grows later: their defaults ('' for text), so the load follows the schema.
    others = [field for field in AuditEvent._meta.concrete_fields if field.name not in given and not field.null]
    extra_columns = "".join(f", {field.column}" for field in others)
    extra_values = "".join(", ''" for _ in others)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO audit_auditevent (workspace_id, type, resource_type, resource_id, actor_id, actor_type,
                summary, metadata, user_agent, request_id, created_at, previous_hash, entry_hash{extra_columns})
            SELECT (%(ids)s::uuid[])[CASE WHEN n %% 2 = 0 THEN 1 ELSE 2 + (n / 2) %% (%(others)s) END],
                   (ARRAY['workspace.updated','member.added','plan.changed','support_issue.created',
                          'function.deployed','export.requested'])[1 + (n / 2) %% 6],
                   (ARRAY['workspace','membership','plan','support_issue','function','export'])[1 + (n / 2) %% 6],
                   'res_' || ((n / 2) %% 5000),
                   (%(actors)s::text[])[1 + n %% %(actor_count)s],
                   'user',
                   'Event number ' || n || ' on res_' || ((n / 2) %% 5000),
                   %(metadata)s::jsonb, 'bench/1.0', '',
                   now() - ((%(last)s - n) * interval '20 seconds'),
                   '', 'x'{extra_values}
            FROM generate_series(1, %(last)s) AS n
            """,
            {
                "ids": [str(i) for i in workspace_ids],
                "others": len(workspace_ids) - 1,
                "actors": actor_ids,
                "actor_count": len(actor_ids),
                "last": count * 2,
                "metadata": '{"source": "bench"}',
            },
        )
        cursor.execute("ANALYZE")


def _usage(workspaces):
    from django.utils import timezone

    from usage.services import ingest_events

    now = timezone.now()
    events = []
    for workspace in workspaces:
        for hours_ago in range(0, 24 * 20, 6):
            at = (now - timedelta(hours=hours_ago)).isoformat()
            for metric, value in (("function_invocations", 1200), ("api_calls", 800), ("smart_queries", 40)):
                events.append({"id": f"{workspace.slug}-{metric}-{hours_ago}", "workspace": workspace.slug,
                               "metric": metric, "value": value, "timestamp": at})  # fmt: skip
            events.append({"id": f"{workspace.slug}-records-{hours_ago}", "workspace": workspace.slug,
                           "metric": "records", "value": 50_000 + hours_ago, "timestamp": at})  # fmt: skip
    for start in range(0, len(events), 1000):
        result = ingest_events(events=events[start : start + 1000], source="bench")
        assert not result.rejected, result.rejected[:3]


def seed():
    """The measured tenant and its neighbours; answers (owner token, member count, events...)."""
    from centrali.api.authentication import issue_access_token

    workspace, people = _tenant(0, slug=SLUG, members=MEMBERS, issues=ISSUES, invoices=INVOICES)
    others = [
        _tenant(n, slug=f"neighbour-{n}", members=8, issues=40, invoices=6)[0] for n in range(1, OTHER_TENANTS + 1)
    ]
    _audit_events([workspace.pk, *(other.pk for other in others)], [str(person.pk) for person in people], AUDIT_EVENTS)
    _usage([workspace, *others[:5]])
    return issue_access_token(workspace.owner)


# --- measuring


class Server(WebProcess):
    def __init__(self, env, *, port, log_path, arguments):
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}/workspace/api/v1"
        command = [sys.executable, "-m", "gunicorn", *arguments, "--bind", f"127.0.0.1:{port}"]
        self.command = command
        super(WebProcess, self).__init__(command, env, log_path)


_LATENCY_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text):
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    assert match, text
    number, unit = match.groups()
    return float(number) * _LATENCY_UNITS[unit]


def wrk(url, *, seconds, headers):
    command = [
        "wrk",
        "-t",
        str(WRK_THREADS),
        "-c",
        str(CONNECTIONS),
        "-d",
        f"{round(seconds)}s",
        "--latency",
        "--timeout",
        "10s",
    ]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    if bad or errors:
        raise SystemExit(f"bench.http: {url} answered errors under load:\n{out}")
    return {"rps": float(_found(r"Requests/sec:\s+([\d.]+)", out)), "p50": _ms(_found(r"^\s+50%\s+(\S+)", out)),
            "p99": _ms(_found(r"^\s+99%\s+(\S+)", out))}  # fmt: skip


def _found(pattern, text):
    match = re.search(pattern, text, re.MULTILINE)
    if match is None:
        raise SystemExit(f"bench.http: wrk printed no {pattern!r}:\n{text}")
    return match.group(1)


def endpoints(token):
    user = {"Authorization": f"Bearer {token}"}
    service = {"Authorization": f"Bearer {SERVICE_TOKEN}", "X-Service-Name": "bench"}
    return [
        ("floor (constant JSON, no auth, no db)", "/bench-floor", {}),
        ("GET /version", "/version", {}),
        ("GET /{slug}", f"/{SLUG}", user),
        ("GET /{slug}/support-issues", f"/{SLUG}/support-issues", user),
        ("GET /{slug}/audit/activity", f"/{SLUG}/audit/activity", user),
        ("GET /{slug}/usage/current", f"/{SLUG}/usage/current", user),
        ("GET /{slug}/invoices", f"/{SLUG}/invoices", user),
        ("GET /{slug}/overview", f"/{SLUG}/overview", user),
        ("GET /internal/workspaces/{slug}/quota", f"/internal/workspaces/{SLUG}/quota", service),
    ]


def check_answers(base_url, targets):
    import requests

    for name, path, headers in targets:
        response = requests.get(base_url + path, headers=headers, timeout=30)
        if response.status_code != 200:
            raise SystemExit(f"bench.http: {name} answered {response.status_code}: {response.text[:500]}")


def measure(base_url, targets, *, rounds, seconds):
    """{name: medians over the rounds}; each round's ratio is to the floor of that same round."""
    samples: dict[str, list[dict[str, float]]] = {name: [] for name, _, _ in targets}
    for _name, path, headers in targets:  # warm every worker's connections and caches
        wrk(base_url + path, seconds=1, headers=headers)
    for round_number in range(rounds):
        for name, path, headers in targets:
            samples[name].append(wrk(base_url + path, seconds=seconds, headers=headers))
        print(f"round {round_number + 1}/{rounds} done", file=sys.stderr)
    floor = samples[targets[0][0]]
    figures: dict[str, dict[str, Any]] = {}
    for name, runs in samples.items():
        figures[name] = {key: statistics.median(run[key] for run in runs) for key in ("rps", "p50", "p99")}
        figures[name]["ratio"] = statistics.median(
            run["rps"] / base["rps"] for run, base in zip(runs, floor, strict=True)
        )
        figures[name]["rounds_rps"] = [round(run["rps"]) for run in runs]
    return figures


def webhook_figures(base_url, *, seconds, env, work):
    """A2's bench/http_webhooks.py, when present, against this server with one Celery worker."""
    if importlib.util.find_spec("bench.http_webhooks") is None:
        return None
    from bench import http_webhooks

    worker = WorkerProcess({**env, "DJANGO_SETTINGS_MODULE": "centrali.settings"}, name="bench-http",
                           log_path=work / "worker.log")  # fmt: skip
    try:
        return http_webhooks.measure(base_url, seconds=seconds, webhook_secret=WEBHOOK_SECRET)
    finally:
        worker.stop()


def profile(targets, *, requests_per_endpoint):
    """pyinstrument over `requests_per_endpoint` in-process requests of each endpoint (Django's test
    client, the same settings and database): where a request's time goes, for RESULTS.md."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from pyinstrument import Profiler

    client = Client(SERVER_NAME="127.0.0.1")
    for name, path, headers in targets[2:]:
        extra = {f"HTTP_{key.upper().replace('-', '_')}": value for key, value in headers.items()}
        url = f"/workspace/api/v1{path}"
        for _ in range(20):
            assert client.get(url, **extra).status_code == 200
        with CaptureQueriesContext(connection) as queries:
            client.get(url, **extra)
        print(f"### {name}: {len(queries)} queries")
        for query in queries:
            print(f"    {query['sql'][:300]}")
        profiler = Profiler(interval=0.0002)
        started = time.perf_counter()
        with profiler:
            for _ in range(requests_per_endpoint):
                client.get(url, **extra)
        seconds = time.perf_counter() - started
        print(f"### {name}: {seconds / requests_per_endpoint * 1000:.2f} ms a request")
        print(
            profiler.output_text(
                unicode=True, color=False, show_all=False, processor_options={"filter_threshold": 0.03}
            )
        )


def _version(command):
    try:
        return subprocess.run(command, capture_output=True, text=True, check=False).stdout.strip().splitlines()[0]
    except (OSError, IndexError):
        return "unknown"


def machine():
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    import gunicorn
    import rest_framework

    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "django": django.get_version(),
        "drf": rest_framework.VERSION,
        "gunicorn": gunicorn.__version__,
        "postgres": _version(["psql", "--version"]),
        "wrk": _version(["wrk", "--version"]) or "wrk",
    }


def report(figures, *, info, arguments, rounds, seconds, quick, webhooks):
    rows = []
    for name, figure in figures.items():
        ratio = figure["ratio"]
        goal = GOALS.get(name)
        verdict = "" if goal is None else (f"≥ {goal} ✓" if ratio >= goal else f"≥ {goal} ✗")
        rows.append(
            f"| `{name}` | {figure['rps']:,.0f} | {figure['p50']:.1f} ms | {figure['p99']:.1f} ms | "
            f"{ratio:.3f} | {verdict} | {', '.join(f'{r:,}' for r in figure['rounds_rps'])} |"
        )
    lines = [
        SECTION_TITLE,
        "",
        f"`{'make bench-http' if not quick else '.venv/bin/python -m bench.http --quick'}`, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC. gunicorn `{' '.join(arguments)}` (the Dockerfile's CMD, with its ENV) on "
        f"PostgreSQL, `wrk -t{WRK_THREADS} -c{CONNECTIONS}` on loopback, {rounds} rounds of {seconds:g} s per "
        "endpoint, endpoints interleaved within each round; figures are the medians over the rounds, and a "
        "ratio is the median over the rounds of the endpoint's requests/s over the floor's in the same round. Floor: `bench/http_urls.py` (a DRF view answering a constant "
        "JSON body through the same middleware, no auth, no database; mounted only by `bench.http_settings`).",
        "",
        f"Machine: {info['cpus']} CPUs ({info['cpu']}), shared with other work; Python {info['python']}, "
        f"Django {info['django']}, DRF {info['drf']}, gunicorn {info['gunicorn']}, {info['postgres']}, "
        f"{info['wrk']}. Settings: DEBUG off, RATE_LIMITS=off (wrk would be rate limited), "
        f"REDIS_URL={'set' if os.environ.get('REDIS_URL') else 'unset (per-process cache)'}, "
        "everything else the defaults. Data: the measured tenant has "
        f"{MEMBERS} members, {ISSUES} support issues, {AUDIT_EVENTS:,} audit events, 20 days of usage, "
        f"{INVOICES} invoices; {OTHER_TENANTS} other tenants beside it.",
        "",
        "| endpoint | requests/s | p50 | p99 | ratio to floor | goal | requests/s per round |",
        "|---|---|---|---|---|---|---|",
        *rows,
    ]
    if webhooks is not None:
        lines += ["", "Stripe webhooks (`bench/http_webhooks.py`, same server, one Celery worker):", ""]
        lines += [f"- {key}: {value}" for key, value in webhooks.items()]
    return "\n".join(lines) + "\n"


def write_section(section):
    """Replace this bench's section of RESULTS.md (up to the next `## ` heading), or append it."""
    text = RESULTS.read_text()
    start = text.find(SECTION_TITLE)
    if start == -1:
        RESULTS.write_text(text.rstrip("\n") + "\n\n" + section)
        return
    following = text.find("\n## ", start + len(SECTION_TITLE))
    rest = "" if following == -1 else "\n" + text[following + 1 :]
    RESULTS.write_text(text[:start] + section + rest)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds of 3 s (under three minutes in all)")
    parser.add_argument("--profile", action="store_true", help="profile each endpoint in-process instead")
    parser.add_argument("--no-write", action="store_true", help="print the section, leave RESULTS.md alone")
    parser.add_argument(
        "--only", metavar="TEXT", action="append", default=[],
        help="measure only the endpoints whose name ends with TEXT (repeatable), beside the floor; no webhooks, no write",
    )  # fmt: skip
    options = parser.parse_args()
    rounds = int(os.environ.get("BENCH_HTTP_ROUNDS", 3 if options.quick else 5))
    seconds = float(os.environ.get("BENCH_HTTP_SECONDS", 3 if options.quick else 10))

    name = _database_name()
    create_migrated_database(name)
    work = Path(tempfile.mkdtemp(prefix="centrali-bench-http-"))
    server = None
    try:
        started = time.monotonic()
        token = seed()
        print(f"seeded in {time.monotonic() - started:.0f} s", file=sys.stderr)
        from django.db import connections

        if options.profile:
            profile(endpoints(token), requests_per_endpoint=200)
            return
        connections.close_all()
        arguments, image_env = dockerfile_gunicorn()
        if "PROMETHEUS_MULTIPROC_DIR" in image_env:
            image_env["PROMETHEUS_MULTIPROC_DIR"] = str(work / "metrics")
            (work / "metrics").mkdir()
        port = int(os.environ.get("BENCH_HTTP_PORT") or free_port())
        server = Server({**SERVER_ENV, **image_env}, port=port, log_path=work / "gunicorn.log", arguments=arguments)
        server.wait_until_ready()
        targets = endpoints(token)
        if options.only:
            targets = targets[:1] + [t for t in targets[1:] if any(t[0].endswith(text) for text in options.only)]
            options.no_write = True
        check_answers(server.base_url, targets)
        figures = measure(server.base_url, targets, rounds=rounds, seconds=seconds)
        webhooks = (
            None if options.only else webhook_figures(server.base_url, seconds=seconds, env=SERVER_ENV, work=work)
        )
        section = report(figures, info=machine(), arguments=arguments, rounds=rounds, seconds=seconds,
                         quick=options.quick, webhooks=webhooks)  # fmt: skip
        print(section)
        if not options.no_write:
            write_section(section)
    finally:
        if server is not None:
            server.stop()
        from django.db import connections

        connections.close_all()
        _psql(f'DROP DATABASE IF EXISTS "{name}"')
    print(f"logs: {work}; command: {shlex.join(server.command) if server else ''}", file=sys.stderr)


if __name__ == "__main__":
    main()
