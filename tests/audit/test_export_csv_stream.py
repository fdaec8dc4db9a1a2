"""The audit CSV streams: one query and large chunks whatever the number of rows, and on PostgreSQL
(where COPY writes the rows) the same bytes csv.writer writes elsewhere."""

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.csv_export import CHUNK_BYTES, _copied_rows, _written_rows
from audit.models import AuditEvent
from tests.helpers import API

pytestmark = pytest.mark.django_db

START = datetime(2026, 1, 1, tzinfo=UTC)


def _bulk_events(workspace, count, **overrides):
    """`count` events stored directly (placeholder hashes: the export does not verify the chain)."""
    events = []
    for n in range(count):
        fields = {
            "type": "member.added",
            "resource_type": "membership",
            "resource_id": f"res-{n}",
            "actor_id": f"actor-{n % 7}",
            "actor_type": "user",
            "summary": f"Member {n} added, with a comma",
            "metadata": {"role": "member", "n": n},
            "created_at": START + timedelta(seconds=n),
            "entry_hash": "0" * 64,
        }
        events.append(AuditEvent(workspace=workspace, **{**fields, **overrides}))
    return AuditEvent.objects.bulk_create(events)


def _export(client, workspace):
    """The response's chunks and the queries of the whole request, the streaming included."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"{API}/{workspace.slug}/audit/export")
        chunks = list(response.streaming_content)
    assert response.status_code == 200
    return chunks, [query["sql"] for query in queries.captured_queries]


def test_the_export_reads_the_log_in_one_query_whatever_its_size(owner_client, workspace, other_workspace):
    _bulk_events(workspace, 3)
    _, few = _export(owner_client, workspace)
    _bulk_events(workspace, 3_000)

    chunks, many = _export(owner_client, workspace)

    assert len(many) == len(few)
    assert len([sql for sql in many if "audit_auditevent" in sql]) == 1
    assert b"".join(chunks).count(b"\r\n") == 1 + 3_003


def test_rows_are_sent_in_large_chunks_not_one_per_row(owner_client, workspace, other_workspace):
    _bulk_events(workspace, 3_000)

    chunks, _ = _export(owner_client, workspace)

    rows = chunks[1:]
    assert 2 <= len(rows) < 3_000 / 100
    assert all(len(chunk) >= CHUNK_BYTES for chunk in rows[:-1])
    assert all(chunk.endswith(b"\r\n") for chunk in chunks)


def test_metadata_is_written_with_keys_in_jsonb_order(owner_client, workspace, other_workspace):
    _bulk_events(workspace, 1, metadata={"zz": 1, "b": {"yy": "é", "a": [True, None]}, "aaa": "x"})

    chunks, _ = _export(owner_client, workspace)

    row = list(csv.reader(io.StringIO(b"".join(chunks).decode())))[1]
    assert row[8] == '{"b": {"a": [true, null], "yy": "é"}, "zz": 1, "aaa": "x"}'


@pytest.mark.postgres
def test_copy_writes_the_same_bytes_as_csv_writer(workspace, other_workspace):
    assert connection.vendor == "postgresql", "this test needs DATABASE_URL=postgres://..."
    awkward: list[dict[str, Any]] = [
        {"summary": 'Quoted "pro", plan', "metadata": {"note": 'say "hi"', "long_key": 1, "k": [1.5, "ü"]}},
        {"summary": "Two\nlines\r\nand a CR", "resource_id": "", "actor_id": "", "ip_address": "2001:db8::1"},
        {"summary": "=SUM(A1)", "resource_id": "+1", "actor_id": "-2", "user_agent": "@x", "request_id": "\tt"},
        {"summary": "\rcarriage", "metadata": {}, "ip_address": "203.0.113.7"},
        {"summary": "plain", "created_at": START + timedelta(microseconds=120)},
        {"summary": "ünïcode, ✓", "metadata": {"e": "\u2028", "ctl": "\x01\t"}},
    ]
    for fields in awkward:
        _bulk_events(workspace, 1, **fields)
    _bulk_events(other_workspace, 2)
    events = AuditEvent.objects.filter(workspace=workspace).order_by("-id")

    copied = b"".join(_copied_rows(events))

    assert copied == b"".join(_written_rows(events))
    assert len(list(csv.reader(io.StringIO(copied.decode())))) == len(awkward)
