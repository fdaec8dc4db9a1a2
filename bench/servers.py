"""Web and worker processes of the service on loopback, for load runs and multi-process tests.

    web = WebProcess(env, port=free_port(), log_path=...).wait_until_ready()
    ...
    web.stop()

Every process runs in its own process group (stop/kill reach its children) and writes to its log file.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
READY_TIMEOUT_SECONDS = 60


def dockerfile_gunicorn() -> tuple[list[str], dict[str, str]]:
    """(gunicorn's arguments, environment) of the Dockerfile: its exec-form CMD after `gunicorn`
    without `--bind` (the benches bind a port of their own), and its ENV."""
    dockerfile = (Path(__file__).resolve().parents[1] / "Dockerfile").read_text()
    match = re.search(r"^CMD\s+(\[.*\])\s*$", dockerfile, re.MULTILINE)
    if not match or json.loads(match.group(1))[0] != "gunicorn":
        raise SystemExit("bench: the Dockerfile has no exec-form gunicorn CMD to take the settings from")
    arguments, skip = [], False
    for argument in json.loads(match.group(1))[1:]:
        if skip:
            skip = False
        elif argument in ("--bind", "-b"):
            skip = True
        elif not argument.startswith("--bind="):
            arguments.append(argument)
    env: dict[str, str] = {}
    for block in re.findall(r"^ENV\s+((?:.*\\\n)*.*)$", dockerfile, re.MULTILINE):
        env.update(re.findall(r"([A-Z_][A-Z0-9_]*)=(\S+)", block))
    return arguments, env


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Process:
    def __init__(self, command, env, log_path):
        self.log_path = Path(log_path)
        self.log = open(self.log_path, "ab")  # noqa: SIM115 -- written by the process until stop()
        self.process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def output(self, tail=4000):
        return self.log_path.read_text(errors="replace")[-tail:]

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.log.close()


class WebProcess(_Process):
    """gunicorn serving the service on 127.0.0.1:<port>."""

    def __init__(self, env, *, port, log_path, workers=2, threads=1):
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}/workspace/api/v1"
        command = [
            sys.executable, "-m", "gunicorn", "centrali.wsgi:application",
            "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--threads", str(threads),
            "--timeout", "60", "--graceful-timeout", "10",
        ]  # fmt: skip
        super().__init__(command, env, log_path)

    def wait_until_ready(self):
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn on {self.port} exited with {self.process.returncode}:\n{self.output()}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/version", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn on {self.port} did not answer /version:\n{self.output()}")
            time.sleep(0.2)


class WorkerProcess(_Process):
    """A Celery worker (prefork, `concurrency` children)."""

    def __init__(self, env, *, name, log_path, concurrency=1):
        command = [
            sys.executable, "-m", "celery", "-A", "centrali", "worker", "--loglevel", "INFO",
            "--pool", "prefork", "--concurrency", str(concurrency), "--hostname", f"{name}@localhost",
            "--without-gossip", "--without-mingle",
        ]  # fmt: skip
        super().__init__(command, env, log_path)


class StripeSandboxProcess(_Process):
    """The local Stripe (devtools.stripe_sandbox) on 127.0.0.1:<port>, delivering its webhooks to `webhook_url`."""

    def __init__(self, env, *, port, log_path, webhook_url="", webhook_secret=""):
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "devtools.stripe_sandbox", "--port", str(port)]
        if webhook_url and webhook_secret:
            command += ["--webhook-url", webhook_url, "--webhook-secret", webhook_secret]
        super().__init__(command, env, log_path)

    def wait_until_ready(self):
        from devtools.stripe_sandbox import wait_until_listening

        if not wait_until_listening(self.port, timeout=READY_TIMEOUT_SECONDS):
            raise RuntimeError(f"the Stripe sandbox on {self.port} did not listen:\n{self.output()}")
        return self
