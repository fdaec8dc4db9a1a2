"""Real collaborators for the workspaces tests: a platform service over HTTP on loopback,
a broker URL that can be pointed at a closed port, and the workspace file storage."""

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from centrali.celery import app as celery_app
from workspaces import storage as workspace_storage


class PlatformService:
    """A platform provisioning endpoint on loopback that fails the first `failures` calls with
    `failure_status` (None = fail until recover()), then answers 201; it records every request."""

    def __init__(self):
        self.failures = 0
        self.failure_status = 503
        self.requests = []
        self._lock = threading.Lock()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with service._lock:
                    service.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                    failing = service.failures is None or len(service.requests) <= service.failures
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

    def fail_first(self, n, status=503):
        self.failures, self.failure_status = n, status

    def fail_always(self, status=503):
        self.failures, self.failure_status = None, status

    def recover(self):
        self.failures = len(self.requests)

    def calls_for(self, service):
        return [r for r in self.requests if r["path"] == f"/{service}"]


@pytest.fixture
def platform_service(settings):
    """The `compute` service provisioned over HTTP against a loopback server (plus `storage`)."""
    service = PlatformService()
    service.thread.start()
    settings.WORKSPACE_PROVISIONERS = {
        "storage": {"class": "workspaces.provisioning.StorageProvisioner"},
        "compute": {
            "class": "workspaces.provisioning.HttpProvisioner",
            "url": f"{service.base_url}/compute",
            "token": "platform-token",
            "timeout": 5.0,
        },
    }
    settings.PROVISIONING_MAX_ATTEMPTS = 3
    yield service
    service.server.shutdown()
    service.server.server_close()


@pytest.fixture
def closed_port():
    """A loopback port nothing listens on (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def broker_at():
    """broker_at(url): publish tasks for real (not eagerly) to the broker at `url`."""
    keys = ("task_always_eager", "broker_url", "broker_connection_timeout")
    previous = {key: celery_app.conf[key] for key in keys}

    def use(url):
        celery_app.conf.update(task_always_eager=False, broker_url=url, broker_connection_timeout=1)
        # Drop pooled connections/producers bound to the previous broker URL.
        celery_app._after_fork()

    yield use
    celery_app.conf.update(previous)
    celery_app._after_fork()


@pytest.fixture
def workspace_files():
    return workspace_storage.workspace_files()
