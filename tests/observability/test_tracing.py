"""Tracing: off without OTEL_EXPORTER_OTLP_ENDPOINT; on, one trace runs from the request through
the task it queued down to the storage write. Tasks run eagerly here, in-process, so the task's
span continues the request's context directly; across a real broker the context travels in the
message headers: test_worker_observability.py reads them off the queue, and follows one trace
into a real worker's exported spans."""

from django.conf import settings

from centrali import tracing
from tests.factories import WorkspaceFactory
from tests.helpers import API, client_for


def test_without_an_endpoint_nothing_is_instrumented(monkeypatch):
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)

    assert tracing.configure_tracing() is False
    assert not tracing.enabled()
    assert not any("opentelemetry" in entry for entry in settings.MIDDLEWARE)
    assert tracing.current_trace_ids() == {}


def test_an_export_request_its_task_and_the_archive_write_are_one_trace(spans, transactional_db):
    # No test transaction around the request: the export is published during it, as in production.
    workspace = WorkspaceFactory()
    client = client_for(workspace.owner)

    response = client.post(f"{API}/{workspace.slug}/export")

    assert response.status_code == 202
    finished = spans.get_finished_spans()
    by_id = {span.context.span_id: span for span in finished}
    request = next(span for span in finished if span.kind.name == "SERVER")
    task = next(span for span in finished if span.name == "run/workspaces.run_export")
    write = next(span for span in finished if span.name == "storage.save")

    assert request.attributes.get("http.route", "").endswith("<slug:slug>/export")
    assert {span.context.trace_id for span in finished} == {request.context.trace_id}

    def ancestors(span):
        while span.parent is not None:
            span = by_id[span.parent.span_id]
            yield span

    assert request in ancestors(task)
    assert task in ancestors(write)
    assert write.attributes["storage.file"].endswith(".zip")


def test_log_lines_carry_the_trace_and_span_ids_while_tracing_is_on(spans, transactional_db, log_lines):
    workspace = WorkspaceFactory()

    client_for(workspace.owner).post(f"{API}/{workspace.slug}/export", HTTP_X_REQUEST_ID="req-traced")

    request = next(span for span in spans.get_finished_spans() if span.kind.name == "SERVER")
    started = next(line for line in log_lines() if line["event"] == "task_started")
    assert started["request_id"] == "req-traced"
    assert started["trace_id"] == format(request.context.trace_id, "032x")
    assert len(started["span_id"]) == 16


def test_spans_keep_no_query_string_a_signed_link_or_a_search_carries(spans, db, api_client):
    api_client.get(f"{API}/healthz?token=signed-download-token")

    attributes = [str(value) for span in spans.get_finished_spans() for value in span.attributes.values()]
    assert attributes and not any("signed-download-token" in value for value in attributes)
