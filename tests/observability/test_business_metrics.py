"""Each business metric counts the real action: drive it, read the sample before and after."""

from datetime import timedelta

import pytest
from celery import shared_task
from django.utils import timezone
from freezegun import freeze_time

from centrali.metrics import QueueLengthCollector
from tests.helpers import API
from tests.usage.helpers import event
from usage.services import ingest_events
from workspaces.models import ExportJob, Workspace

pytestmark = pytest.mark.django_db

SIGN_UP = {
    "name": "Initech",
    "email": "peter@initech.test",
    "username": "peter",
    "password": "a-long-and-unusual-passphrase",
    "passwordConfirmation": "a-long-and-unusual-passphrase",
}


@shared_task(name="tests.observability.fails")
def fails():
    raise RuntimeError("this task always fails")


@shared_task(bind=True, name="tests.observability.retries_once", max_retries=1)
def retries_once(self):
    if self.request.retries == 0:
        return self.retry(countdown=0, throw=False)
    return "done"


def sign_up(api_client, capture):
    with capture(execute=True):
        response = api_client.post(f"{API}/", SIGN_UP, format="json")
    assert response.status_code == 201, response.content
    return Workspace.objects.get(pk=response.json()["workspace"]["id"])


# --- Celery tasks


def test_a_task_that_succeeds_is_counted_by_name_with_its_duration(
    metric, workspace, owner_client, django_capture_on_commit_callbacks
):
    task = "workspaces.run_export"
    before = metric("centrali_celery_tasks_total", task=task, outcome="success")
    timed_before = metric("centrali_celery_task_duration_seconds_count", task=task)

    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(f"{API}/{workspace.slug}/export")

    assert metric("centrali_celery_tasks_total", task=task, outcome="success") == before + 1
    assert metric("centrali_celery_task_duration_seconds_count", task=task) == timed_before + 1
    assert metric("centrali_celery_tasks_running", task=task) == 0


def test_a_task_that_raises_is_counted_as_a_failure(metric):
    before = metric("centrali_celery_tasks_total", task="tests.observability.fails", outcome="failure")

    with pytest.raises(RuntimeError):
        fails.delay()  # eager: the exception propagates

    assert metric("centrali_celery_tasks_total", task="tests.observability.fails", outcome="failure") == before + 1


def test_a_run_that_schedules_a_retry_is_counted_as_a_retry_then_the_next_as_a_success(metric):
    task = "tests.observability.retries_once"
    retried, succeeded = (metric("centrali_celery_tasks_total", task=task, outcome=o) for o in ("retry", "success"))

    retries_once.delay()

    assert metric("centrali_celery_tasks_total", task=task, outcome="retry") == retried + 1
    assert metric("centrali_celery_tasks_total", task=task, outcome="success") == succeeded + 1


# --- Queue length (the Redis list per queue is tests/observability/test_worker_metrics.py's)


def test_a_broker_that_does_not_answer_gives_broker_down_and_no_queue_length(closed_port):
    collector = QueueLengthCollector(redis_url=f"redis://127.0.0.1:{closed_port}/0", queues=["celery"])

    families = {family.name: family for family in collector.collect()}

    assert [sample.value for sample in families["centrali_celery_broker_up"].samples] == [0]
    assert "centrali_celery_queue_length" not in families


def test_without_redis_there_is_no_queue_length_to_read():
    assert list(QueueLengthCollector(redis_url="", queues=["celery"]).collect()) == []


# --- Exports


def test_a_completed_export_counts_its_outcome_duration_and_rows(
    metric, workspace, owner_client, django_capture_on_commit_callbacks
):
    before = metric("centrali_exports_total", outcome="completed")
    rows_before = metric("centrali_export_rows_total")
    timed_before = metric("centrali_export_duration_seconds_count", outcome="completed")

    with django_capture_on_commit_callbacks(execute=True):
        job_id = owner_client.post(f"{API}/{workspace.slug}/export").json()["jobId"]

    job = ExportJob.objects.get(pk=job_id)
    assert job.status == "completed" and job.rows_done > 0
    assert metric("centrali_exports_total", outcome="completed") == before + 1
    assert metric("centrali_export_rows_total") == rows_before + job.rows_done
    assert metric("centrali_export_duration_seconds_count", outcome="completed") == timed_before + 1


def test_an_export_the_queue_refused_counts_as_failed(
    metric, workspace, owner_client, broker_at, closed_port, django_capture_on_commit_callbacks
):
    broker_at(f"redis://127.0.0.1:{closed_port}/0")
    before = metric("centrali_exports_total", outcome="failed")

    with django_capture_on_commit_callbacks(execute=True):
        job_id = owner_client.post(f"{API}/{workspace.slug}/export").json()["jobId"]

    assert ExportJob.objects.get(pk=job_id).status == "failed"
    assert metric("centrali_exports_total", outcome="failed") == before + 1


# --- Provisioning


def test_provisioning_attempts_count_retries_then_ready_with_durations(
    metric, api_client, platform_service, django_capture_on_commit_callbacks
):
    platform_service.fail_first(2)
    retries, ready = (
        metric("centrali_provisioning_attempts_total", service="compute", outcome=o) for o in ("retry", "ready")
    )
    timed = metric("centrali_provisioning_duration_seconds_count", service="compute")

    sign_up(api_client, django_capture_on_commit_callbacks)

    assert metric("centrali_provisioning_attempts_total", service="compute", outcome="retry") == retries + 2
    assert metric("centrali_provisioning_attempts_total", service="compute", outcome="ready") == ready + 1
    assert metric("centrali_provisioning_duration_seconds_count", service="compute") == timed + 3


def test_a_rejected_provisioning_counts_as_failed(
    metric, api_client, platform_service, django_capture_on_commit_callbacks
):
    platform_service.fail_always(422)
    before = metric("centrali_provisioning_attempts_total", service="compute", outcome="failed")

    sign_up(api_client, django_capture_on_commit_callbacks)

    assert metric("centrali_provisioning_attempts_total", service="compute", outcome="failed") == before + 1


# --- Usage events


def test_usage_events_count_accepted_duplicate_and_rejected_by_metric(metric, service_client, workspace):
    now = timezone.now()
    first = event(workspace, "records", 5, now)
    batch = [first, first, event(workspace, "records", 1, now), {**event(workspace, "nope", 1, now)}, {"id": "x"}]
    counts = {
        (m, o): metric("centrali_usage_events_total", metric=m, outcome=o)
        for m, o in [("records", "accepted"), ("records", "duplicate"), ("unknown", "rejected")]
    }

    response = service_client.post(f"{API}/internal/usage-events", {"events": batch}, format="json")
    replay = service_client.post(f"{API}/internal/usage-events", {"events": [first]}, format="json")

    assert response.json()["accepted"] == 2 and replay.json()["duplicates"] == 1
    assert (
        metric("centrali_usage_events_total", metric="records", outcome="accepted") == counts["records", "accepted"] + 2
    )
    # once repeated within the batch, once replayed later
    assert (
        metric("centrali_usage_events_total", metric="records", outcome="duplicate")
        == counts["records", "duplicate"] + 2
    )
    # a metric not ours and an event without one: never a label of the caller's choosing
    assert (
        metric("centrali_usage_events_total", metric="unknown", outcome="rejected") == counts["unknown", "rejected"] + 2
    )
    assert metric("centrali_usage_events_total", metric="nope", outcome="rejected") == 0


# --- Quota alerts


def test_quota_alerts_sent_are_counted_by_level(metric, workspace, django_capture_on_commit_callbacks):
    warning, reached = (metric("centrali_quota_alerts_total", level=level) for level in ("warning", "reached"))
    now = timezone.now()

    with freeze_time(now), django_capture_on_commit_callbacks(execute=True):
        ingest_events(events=[event(workspace, "records", 8_000, now)])  # 80% of the free plan's 10,000
    with freeze_time(now + timedelta(minutes=1)), django_capture_on_commit_callbacks(execute=True):
        # records is a gauge: the newest value counts
        ingest_events(events=[event(workspace, "records", 10_000, now + timedelta(seconds=30))])

    assert metric("centrali_quota_alerts_total", level="warning") == warning + 1
    assert metric("centrali_quota_alerts_total", level="reached") == reached + 1


# --- Audit events


def test_audit_events_are_counted_by_type(metric, workspace, owner_client, django_capture_on_commit_callbacks):
    before = metric("centrali_audit_events_total", type="export.requested")

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(f"{API}/{workspace.slug}/export")

    assert response.status_code == 202
    assert metric("centrali_audit_events_total", type="export.requested") == before + 1


def test_a_platform_services_own_event_types_share_one_label(metric, workspace, service_client):
    before = metric("centrali_audit_events_total", type="platform")
    reported = {
        "eventId": "evt-obs-1",
        "workspace": workspace.slug,
        "type": "structure.created",
        "resourceType": "structure",
        "resourceId": "str_1",
        "summary": "Structure 'orders' created",
        "actorId": "iam-user-7",
        "actorType": "user",
        "occurredAt": timezone.now().isoformat(),
    }

    response = service_client.post(f"{API}/internal/audit-events", {"events": [reported]}, format="json")

    assert response.status_code == 200, response.content
    assert metric("centrali_audit_events_total", type="platform") == before + 1
    assert metric("centrali_audit_events_total", type="structure.created") == 0


# Stripe API calls: tests/billing/test_stripe_api_observability.py (the local Stripe runs once per process there).


# --- Labels


def test_no_label_names_a_tenant(workspace, other_workspace, member_of, api_client, django_capture_on_commit_callbacks):
    for tenant in (workspace, other_workspace):  # requests, tasks, exports and audit events of each
        with django_capture_on_commit_callbacks(execute=True):
            assert member_of(tenant, "admin").post(f"{API}/{tenant.slug}/export").status_code == 202

    text = api_client.get(f"{API}/metrics").content.decode()

    assert 'centrali_exports_total{outcome="completed"}' in text
    for tenant in (workspace, other_workspace):
        assert tenant.slug not in text and str(tenant.pk) not in text
