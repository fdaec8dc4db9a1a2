"""A platform provisioning service on loopback, for provisioning tests (unit and end-to-end)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class PlatformService:
    """A platform provisioning endpoint on loopback that fails the first `failures` calls with
    `failure_status` (None = fail until recover()), or leaves the first `hangs` calls unanswered
    until stop(), then answers 201; it records every request."""

    def __init__(self) -> None:
        self.failures: int | None = 0
        self.failure_status = 503
        self.hangs = 0
        self._release = threading.Event()
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with service._lock:
                    service.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                    failing = service.failures is None or len(service.requests) <= service.failures
                    hanging = len(service.requests) <= service.hangs
                if hanging:
                    service._release.wait(timeout=30)  # the client times out long before
                    return
                code = service.failure_status if failing else 201
                payload = json.dumps({"error": "unavailable"} if failing else {"provisioned": True}).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def hang_first(self, n):
        self.hangs = n

    def fail_first(self, n, status=503):
        self.failures, self.failure_status = n, status

    def fail_always(self, status=503):
        self.failures, self.failure_status = None, status

    def recover(self):
        self.failures = len(self.requests)

    def calls_for(self, service):
        return [r for r in self.requests if r["path"] == f"/{service}"]

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self._release.set()
        self.server.shutdown()
        self.server.server_close()
