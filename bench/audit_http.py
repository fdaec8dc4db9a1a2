"""gunicorn with the Dockerfile's settings on the audit bench database, a streaming HTTP client and
resident-memory sampling of the gunicorn workers (/proc/<pid>/status), for the audit benchmarks."""

from __future__ import annotations

import http.client
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.servers import WebProcess, dockerfile_gunicorn

REPO = Path(__file__).resolve().parents[1]
READ_BYTES = 1024 * 1024


class Gunicorn(WebProcess):
    def __init__(self, env, *, port, log_path):
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}/workspace/api/v1"
        self.arguments, _ = dockerfile_gunicorn()
        command = [sys.executable, "-m", "gunicorn", *self.arguments, "--bind", f"127.0.0.1:{port}"]
        super(WebProcess, self).__init__(command, env, log_path)

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return [int(pid) for pid in children]


def server_env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_DEBUG": "false",
        "RATE_LIMITS": "off",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
    }


def status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def cpu_ticks(pid: int) -> int:
    """utime + stime of the process (clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


@dataclass
class RssSampler:
    """Samples VmRSS of `pids` every `interval` seconds in a thread; peak and first sample per pid."""

    pids: list[int]
    interval: float = 0.02
    before: dict[int, int] = field(default_factory=dict)
    peak: dict[int, int] = field(default_factory=dict)

    def __enter__(self):
        self.cpu = {pid: cpu_ticks(pid) for pid in self.pids}
        self.before = {pid: status_kib(pid, "VmRSS") for pid in self.pids}
        self.peak = dict(self.before)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self):
        for pid in self.pids:
            self.peak[pid] = max(self.peak[pid], status_kib(pid, "VmRSS"))

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample()

    def serving(self) -> tuple[int, int, int]:
        """(pid, RSS before, peak RSS in KiB) of the worker that used the most CPU: the one that served."""
        pid = max(self.pids, key=lambda pid: cpu_ticks(pid) - self.cpu[pid])
        return pid, self.before[pid], self.peak[pid]


def get(port: int, path: str, token: str, connection: http.client.HTTPConnection | None = None):
    """GET `path`, reading the whole body in READ_BYTES reads; returns (status, body, seconds)."""
    own = connection is None
    connection = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    started = time.perf_counter()
    connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    response = connection.getresponse()
    parts = []
    while chunk := response.read(READ_BYTES):
        parts.append(chunk)
    elapsed = time.perf_counter() - started
    if own:
        connection.close()
    return response.status, b"".join(parts), elapsed


def stream_count(port: int, path: str, token: str) -> tuple[int, int, int, float]:
    """GET `path` reading the body as it streams without keeping it; (status, bytes, CRLF count, seconds)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    started = time.perf_counter()
    connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    response = connection.getresponse()
    size = lines = 0
    tail = b""
    while chunk := response.read(READ_BYTES):
        size += len(chunk)
        lines += (tail + chunk[:1]).count(b"\r\n") + chunk.count(b"\r\n")
        tail = chunk[-1:]
    elapsed = time.perf_counter() - started
    connection.close()
    return response.status, size, lines, elapsed
