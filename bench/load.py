"""Load run: 50 clients against two web processes and two Celery workers sharing PostgreSQL and Redis.

What each client does, for LOAD_SECONDS (default 60) and against both web processes in turn: sign
up (with an Idempotency-Key, sent twice), then a random mix of opening support issues (some sent
twice with one key), commenting, updating the workspace with If-Match, reading the activity log
and an issue, and requesting exports. Afterwards: every export the API accepted must complete on
a worker (waited for up to LOAD_DRAIN_SECONDS), and the database must hold exactly what the API
answered 2xx for: no request lost, none applied twice. Fails (exit 1) on any 5xx or mismatch.

A database of its own (created from DATABASE_URL's server, migrated, dropped afterwards) and the
Redis of REDIS_URL; loopback only, every loop bounded in time.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/centrali_load REDIS_URL=redis://127.0.0.1:6379/4 \\
        .venv/bin/python -m bench.load
"""

import collections
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

import requests

from bench.servers import REPO, WebProcess, WorkerProcess, free_port

CLIENTS = int(os.environ.get("LOAD_CLIENTS", 50))
SECONDS = float(os.environ.get("LOAD_SECONDS", 60))
DRAIN_SECONDS = float(os.environ.get("LOAD_DRAIN_SECONDS", 180))
WEB_WORKERS = int(os.environ.get("LOAD_WEB_WORKERS", 2))
REQUEST_TIMEOUT = 60


class Client(threading.Thread):
    def __init__(self, number, base_urls, deadline, stats):
        super().__init__(name=f"client-{number}")
        self.number = number
        self.base_urls = base_urls
        self.deadline = deadline
        self.stats = stats
        self.session = requests.Session()
        self.turn = number
        self.slug = None
        self.issues = []  # ids the API created
        self.comments: collections.Counter[int] = collections.Counter()  # issue id -> comments the API accepted
        self.exports = []  # job ids the API accepted
        self.sign_ups = 0
        self.random = random.Random(number)

    def request(self, method, path, **kwargs):
        self.turn += 1
        url = f"{self.base_urls[self.turn % len(self.base_urls)]}{path}"
        started = time.perf_counter()
        try:
            response = self.session.request(method, url, timeout=REQUEST_TIMEOUT, **kwargs)
        except requests.RequestException as exc:
            self.stats.record(method, path, None, time.perf_counter() - started, repr(exc))
            raise
        self.stats.record(method, path, response.status_code, time.perf_counter() - started, response.text[:300])
        return response

    def run(self):
        try:
            self.sign_up()
            while time.monotonic() < self.deadline:
                self.random.choices(
                    [self.open_issue, self.comment, self.update_workspace, self.read, self.export],
                    weights=[3, 4, 2, 4, 1],
                )[0]()
        except requests.RequestException:
            pass  # recorded as a failure

    def sign_up(self):
        tag = uuid.uuid4().hex[:10]
        body = {
            "name": f"Load {tag}",
            "email": f"{tag}@load.test",
            "username": f"load{tag}",
            "password": "a-long-and-unusual-passphrase",
            "passwordConfirmation": "a-long-and-unusual-passphrase",
            "description": "",
        }
        key = {"Idempotency-Key": f"signup-{tag}"}
        first = self.request("POST", "/", json=body, headers=key)
        retry = self.request("POST", "/", json=body, headers=key)  # a lost answer, retried
        if first.status_code == 201:
            self.sign_ups += 1
            self.stats.check(retry.status_code == 201 and retry.json() == first.json(), "sign-up retry replays")
            self.slug = first.json()["workspace"]["slug"]
            self.session.headers["Authorization"] = f"Bearer {first.json()['auth_token']}"

    def open_issue(self):
        key = {"Idempotency-Key": uuid.uuid4().hex}
        body = {"title": f"Issue of {self.name}", "description": "Load.", "type": "bug", "priority": "low"}
        response = self.request("POST", f"/{self.slug}/support-issues", json=body, headers=key)
        if response.status_code == 201:
            self.issues.append(response.json()["id"])
            if self.random.random() < 0.3:
                retry = self.request("POST", f"/{self.slug}/support-issues", json=body, headers=key)
                self.stats.check(retry.status_code == 201 and retry.json()["id"] == self.issues[-1], "issue replay")

    def comment(self):
        if not self.issues:
            self.open_issue()
            return
        issue = self.random.choice(self.issues)
        body = {"comment": "Any news?", "displayName": "Load"}
        response = self.request("POST", f"/{self.slug}/support-issues/{issue}/comments", json=body)
        if response.status_code == 200:
            self.comments[issue] += 1

    def update_workspace(self):
        current = self.request("GET", f"/{self.slug}")
        if current.status_code != 200:
            return
        body = {"description": f"Updated {uuid.uuid4().hex[:6]}"}
        response = self.request("PUT", f"/{self.slug}", json=body, headers={"If-Match": current.headers["ETag"]})
        self.stats.check(response.status_code in (200, 412), "conditional update answers 200 or 412")

    def read(self):
        self.request("GET", f"/{self.slug}/audit/activity")
        if self.issues:
            self.request("GET", f"/{self.slug}/support-issues/{self.random.choice(self.issues)}")

    def export(self):
        response = self.request("POST", f"/{self.slug}/export", headers={"Idempotency-Key": uuid.uuid4().hex})
        if response.status_code == 202:
            self.exports.append(response.json()["jobId"])


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.statuses: collections.Counter[int] = collections.Counter()
        self.latencies = []
        self.failures = []
        self.checks_failed: collections.Counter[str] = collections.Counter()

    def record(self, method, path, status, seconds, detail):
        with self.lock:
            self.statuses[status] += 1
            self.latencies.append(seconds)
            if status is None or status >= 500:
                self.failures.append((method, path, status, detail))

    def check(self, ok, what):
        if not ok:
            with self.lock:
                self.checks_failed[what] += 1


def _admin_and_load_urls():
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("bench.load needs DATABASE_URL=postgres://… (its server; the database itself is created)")
    parsed = urlparse(url)
    name = f"{parsed.path.lstrip('/') or 'centrali'}_load"
    return parsed._replace(path="/postgres").geturl(), parsed._replace(path=f"/{name}").geturl(), name


def _psql(admin_url, sql):
    subprocess.run(["psql", admin_url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql], check=True)


def main():
    redis_url = os.environ.get("REDIS_URL") or sys.exit("bench.load needs REDIS_URL")
    admin_url, load_url, name = _admin_and_load_urls()
    work = Path(tempfile.mkdtemp(prefix="centrali-load-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "centrali.settings",
        "DATABASE_URL": load_url,
        "REDIS_URL": redis_url,
        "MEDIA_ROOT": str(work / "media"),
        "DJANGO_SECRET_KEY": "load-run-secret-key-" + "x" * 40,
        "RATE_LIMITS": "off",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "LOG_LEVEL": "WARNING",
    }
    _psql(admin_url, f'DROP DATABASE IF EXISTS "{name}"')
    _psql(admin_url, f'CREATE DATABASE "{name}"')
    processes = []
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=REPO, env=env, check=True)
        webs = [
            WebProcess(env, port=free_port(), log_path=work / f"web-{n}.log", workers=WEB_WORKERS) for n in range(2)
        ]
        workers = [WorkerProcess(env, name=f"load-{n}", log_path=work / f"worker-{n}.log") for n in range(2)]
        processes = [*webs, *workers]
        for web in webs:
            web.wait_until_ready()
        stats = Stats()
        started = time.monotonic()
        clients = [Client(n, [web.base_url for web in webs], started + SECONDS, stats) for n in range(CLIENTS)]
        for client in clients:
            client.start()
        for client in clients:
            client.join(timeout=SECONDS + 4 * REQUEST_TIMEOUT)
        elapsed = time.monotonic() - started
        report = _verify(env, clients, stats)
        _print(stats, elapsed, report)
        return 0 if not stats.failures and not stats.checks_failed and not report["problems"] else 1
    finally:
        for process in processes:
            process.stop()
        _psql(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        print(f"logs in {work}")


def _verify(env, clients, stats):
    os.environ.update(
        {
            key: env[key]
            for key in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY", "MEDIA_ROOT")
        }
    )
    import django

    django.setup()
    from django.db import connections

    from support.models import Comment, SupportIssue
    from workspaces.models import ExportJob, ExportStatus, Workspace

    problems = []
    expected_issues = {issue for client in clients for issue in client.issues}
    expected_comments = sum(sum(client.comments.values()) for client in clients)
    sign_ups = sum(client.sign_ups for client in clients)
    if Workspace.objects.count() != sign_ups:
        problems.append(f"{Workspace.objects.count()} workspaces for {sign_ups} sign-ups answered 201")
    stored_issues = set(SupportIssue.objects.values_list("pk", flat=True))
    if stored_issues != expected_issues:
        problems.append(f"issues: {len(stored_issues)} stored, {len(expected_issues)} answered 201")
    if Comment.objects.count() != expected_comments:
        problems.append(f"comments: {Comment.objects.count()} stored, {expected_comments} answered 200")
    exports = [job for client in clients for job in client.exports]
    deadline = time.monotonic() + DRAIN_SECONDS
    while ExportJob.objects.filter(pk__in=exports, status__in=[ExportStatus.QUEUED, ExportStatus.RUNNING]).exists():
        if time.monotonic() > deadline:
            break
        time.sleep(1)
    by_status = collections.Counter(ExportJob.objects.filter(pk__in=exports).values_list("status", flat=True))
    if by_status.get(ExportStatus.COMPLETED, 0) != len(exports):
        problems.append(f"exports: {dict(by_status)} of {len(exports)} accepted")
    if ExportJob.objects.count() != len(exports):
        problems.append(f"export jobs: {ExportJob.objects.count()} stored, {len(exports)} answered 202")
    connections.close_all()
    return {
        "sign_ups": sign_ups,
        "issues": len(expected_issues),
        "comments": expected_comments,
        "exports": dict(by_status),
        "problems": problems,
    }


def _print(stats, elapsed, report):
    latencies = sorted(stats.latencies)
    total = len(latencies)
    p50 = latencies[total // 2] if total else 0
    p95 = latencies[int(total * 0.95)] if total else 0
    fivexx = sum(count for status, count in stats.statuses.items() if status is None or status >= 500)
    print(f"{CLIENTS} clients, {elapsed:.0f} s, {total} requests ({total / elapsed:.0f}/s), p50 {p50 * 1000:.0f} ms, "
          f"p95 {p95 * 1000:.0f} ms")  # fmt: skip
    print(f"statuses: {dict(sorted(stats.statuses.items(), key=lambda kv: str(kv[0])))}; 5xx or no answer: {fivexx}")
    print(f"created: {report['sign_ups']} workspaces, {report['issues']} issues, {report['comments']} comments; "
          f"exports {report['exports']}")  # fmt: skip
    print(f"failed checks: {dict(stats.checks_failed) or 'none'}; problems: {report['problems'] or 'none'}")
    for failure in stats.failures[:10]:
        print("  failure:", failure)


if __name__ == "__main__":
    sys.exit(main())
