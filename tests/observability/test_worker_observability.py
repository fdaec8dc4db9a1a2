"""A real Celery worker (prefork pool) on Redis, behind a live server: its log lines carry the
request id of the request that queued the task, its own /metrics (CELERY_METRICS_PORT) adds up
its pool processes' task counts; the queue length is read from Redis; and a task published while
tracing is on carries the trace context in its message headers, beside the request id, and the
worker (exporting over OTLP/HTTP to a receiver in this test) continues that trace down to the
export's storage write."""

import http.server
import json
import threading
from pathlib import Path

import pytest
import redis
import requests
from django.conf import settings
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from centrali import tracing
from centrali.celery import REQUEST_ID_HEADER
from centrali.celery import app as celery_app
from centrali.context import fresh_context
from centrali.metrics import QueueLengthCollector
from centrali.tasks import publish
from tests.e2e.harness import wait_for
from tests.observability.helpers import free_port, scrape, total
from workspaces import services
from workspaces.models import ExportJob

pytestmark = pytest.mark.e2e

SIGN_UP = {
    "name": "Hooli",
    "email": "gavin@hooli.test",
    "username": "gavin",
    "password": "a-long-and-unusual-passphrase",
    "passwordConfirmation": "a-long-and-unusual-passphrase",
}


def worker_lines(worker):
    lines = []
    for line in Path(worker.log_path).read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                lines.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return lines


def test_a_tasks_log_lines_carry_the_request_id_of_the_request_that_queued_it(start_celery_worker, live_api, tmp_path):
    port = free_port(start=9750)
    worker = start_celery_worker(CELERY_METRICS_PORT=port, PROMETHEUS_MULTIPROC_DIR=tmp_path / "worker-metrics")
    body = requests.post(f"{live_api}/", json=SIGN_UP, timeout=30).json()
    slug, auth = body["workspace"]["slug"], {"Authorization": f"Bearer {body['auth_token']}"}

    queued = requests.post(f"{live_api}/{slug}/export", headers={**auth, "X-Request-ID": "req-obs-export"}, timeout=30)
    assert queued.status_code == 202, queued.text

    def finished():
        return [
            line
            for line in worker_lines(worker)
            if line.get("event") == "task_finished" and line.get("task") == "workspaces.run_export"
        ]

    (done,) = wait_for(finished, "the worker to finish the export")
    assert (done["request_id"], done["outcome"]) == ("req-obs-export", "success")
    started = [line for line in worker_lines(worker) if line.get("event") == "task_started"]
    export_lines = [line for line in started if line.get("task") == "workspaces.run_export"]
    assert [(line["request_id"], line["task_id"]) for line in export_lines] == [("req-obs-export", done["task_id"])]
    assert (export_lines[0]["actor_id"], export_lines[0]["workspace"]) == ("task:workspaces.run_export", slug)

    samples = wait_for(
        lambda: (
            (s := scrape(f"http://127.0.0.1:{port}/metrics"))
            and total(s, "centrali_celery_tasks_total", task="workspaces.run_export", outcome="success") >= 1
            and s
        ),
        "the worker's metrics to count the export",
    )
    assert total(samples, "centrali_celery_tasks_total", task="workspaces.run_export", outcome="success") == 1
    assert total(samples, "centrali_exports_total", outcome="completed") == 1
    assert total(samples, "centrali_celery_task_duration_seconds_count", task="workspaces.run_export") == 1


def test_the_queue_length_is_read_from_redis(e2e):
    collector = QueueLengthCollector(redis_url=settings.REDIS_URL, queues=["celery"])
    for _ in range(3):
        assert publish("workspaces.expire_export_files")  # no worker runs: they wait in the queue

    families = {family.name: family for family in collector.collect()}

    assert [sample.value for sample in families["centrali_celery_broker_up"].samples] == [1]
    assert [(s.labels, s.value) for s in families["centrali_celery_queue_length"].samples] == [({"queue": "celery"}, 3)]
    celery_app.control.purge()


def test_a_published_task_carries_the_trace_context_and_the_request_id(e2e, spans):
    client = redis.Redis.from_url(settings.REDIS_URL)
    assert tracing._provider is not None
    tracer = tracing._provider.get_tracer("tests")

    with fresh_context(request_id="req-traced-publish"), tracer.start_as_current_span("request") as span:
        assert publish("workspaces.expire_export_files")
        trace_id = format(span.get_span_context().trace_id, "032x")

    (raw,) = client.lrange("celery", 0, -1)
    headers = json.loads(raw)["headers"]
    assert headers[REQUEST_ID_HEADER] == "req-traced-publish"
    assert headers["traceparent"].split("-")[1] == trace_id
    celery_app.control.purge()


class OtlpReceiver:
    """An OTLP/HTTP trace endpoint on loopback that keeps every span it is sent (decoded)."""

    def __init__(self):
        self.spans: list[trace_pb2.Span] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = trace_service_pb2.ExportTraceServiceRequest.FromString(body)
                for resource_spans in request.resource_spans:
                    for scope_spans in resource_spans.scope_spans:
                        receiver.spans.extend(scope_spans.spans)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.end_headers()
                self.wfile.write(trace_service_pb2.ExportTraceServiceResponse().SerializeToString())

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port(start=9770)), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def otlp_receiver():
    receiver = OtlpReceiver()
    yield receiver
    receiver.stop()


def test_the_worker_continues_the_trace_of_the_code_that_queued_the_export(
    start_celery_worker,
    otlp_receiver,
    spans,
    workspace,
):
    start_celery_worker(OTEL_EXPORTER_OTLP_ENDPOINT=otlp_receiver.url, OTEL_BSP_SCHEDULE_DELAY="100")
    assert tracing._provider is not None
    tracer = tracing._provider.get_tracer("tests")

    with tracer.start_as_current_span("POST /{slug}/export") as requesting:
        job = services.request_export(workspace=workspace, actor=workspace.owner)
    trace_id = requesting.get_span_context().trace_id.to_bytes(16, "big")

    def exported():
        names = {span.name for span in otlp_receiver.spans if span.trace_id == trace_id}
        return names if {"run/workspaces.run_export", "storage.save"} <= names else None

    wait_for(exported, "the worker to export the task's spans of this trace")
    by_id = {span.span_id: span for span in otlp_receiver.spans}
    task = next(span for span in otlp_receiver.spans if span.name == "run/workspaces.run_export")
    write = next(span for span in otlp_receiver.spans if span.name == "storage.save" and span.trace_id == trace_id)
    # The task's span hangs under the publishing span (made in this process), the write under the task.
    publish_span = next(span for span in spans.get_finished_spans() if span.name == "apply_async/workspaces.run_export")
    assert task.parent_span_id == publish_span.context.span_id.to_bytes(8, "big")
    assert publish_span.parent.span_id == requesting.get_span_context().span_id
    parent = by_id[write.parent_span_id]
    while parent.span_id != task.span_id:
        parent = by_id[parent.parent_span_id]
    assert ExportJob.objects.get(pk=job.pk).status == "completed"
