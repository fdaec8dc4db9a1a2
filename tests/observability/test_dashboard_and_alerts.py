"""ops/grafana/centrali-workspace.json and ops/prometheus/alerts.yml: they load, and every metric
they query is one the service exposes (its /metrics output, or a family defined in its registry)."""

import json
import re
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY

from centrali.metrics import QueueLengthCollector
from tests.helpers import API

pytestmark = pytest.mark.django_db

OPS = Path(__file__).resolve().parents[2] / "ops"
METRIC_NAME = re.compile(r"\b(centrali_[a-z0-9_]+)\b")
SIGNALS = {  # what the dashboard must show, by a metric family each
    "requests": "centrali_http_requests_total",
    "latency": "centrali_http_request_duration_seconds_bucket",
    "tasks": "centrali_celery_tasks_total",
    "task durations": "centrali_celery_task_duration_seconds_bucket",
    "queue length": "centrali_celery_queue_length",
    "webhooks": "centrali_stripe_webhook_events_total",
    "exports": "centrali_exports_total",
    "provisioning": "centrali_provisioning_attempts_total",
    "usage events": "centrali_usage_events_total",
    "stripe latency": "centrali_stripe_api_duration_seconds_bucket",
    "stripe calls": "centrali_stripe_api_calls_total",
    "quota alerts": "centrali_quota_alerts_total",
    "audit events": "centrali_audit_events_total",
}
ALERTS = {
    "CentraliHigh5xxRate",
    "CentraliWebhookFailures",
    "CentraliTaskFailures",
    "CentraliQueueGrowing",
    "CentraliExportFailures",
    "CentraliStripeErrors",
    "CentraliProvisioningStuck",
}


@pytest.fixture
def exposed(api_client):
    """Every sample name the service can expose: its /metrics answer, the families its registry
    defines (a labelled family has no sample before its first count), and the broker's collector."""
    text = api_client.get(f"{API}/metrics").content.decode()
    names = set(METRIC_NAME.findall(text)) | set(REGISTRY._names_to_collectors)
    return names | set(QueueLengthCollector.FAMILIES)


def dashboard_queries():
    dashboard = json.loads((OPS / "grafana" / "centrali-workspace.json").read_text())
    return dashboard, [
        target["expr"] for panel in dashboard["panels"] if panel["type"] != "row" for target in panel["targets"]
    ]


def alert_rules():
    return yaml.safe_load((OPS / "prometheus" / "alerts.yml").read_text())


def test_the_dashboard_is_a_grafana_dashboard_with_a_panel_per_signal():
    dashboard, queries = dashboard_queries()

    assert dashboard["uid"] and dashboard["title"] and dashboard["schemaVersion"] >= 30
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    queried = {name for query in queries for name in METRIC_NAME.findall(query)}
    assert {signal: family for signal, family in SIGNALS.items() if family not in queried} == {}


def test_every_metric_the_dashboard_queries_is_exposed(exposed):
    _, queries = dashboard_queries()

    unknown = {name for query in queries for name in METRIC_NAME.findall(query)} - exposed
    assert unknown == set()


def test_the_alert_rules_are_prometheus_rule_groups_covering_the_signals():
    rules = [rule for group in alert_rules()["groups"] for rule in group["rules"]]

    assert all(group["name"] and group["rules"] for group in alert_rules()["groups"])
    assert {rule["alert"] for rule in rules} >= ALERTS
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
        assert rule["expr"].strip() and rule["annotations"]["summary"], rule["alert"]
        assert re.fullmatch(r"\d+[smh]", rule.get("for", "0s")), rule["alert"]


def test_every_metric_an_alert_queries_is_exposed(exposed):
    rules = [rule for group in alert_rules()["groups"] for rule in group["rules"]]

    unknown = {rule["alert"]: set(METRIC_NAME.findall(rule["expr"])) - exposed for rule in rules}
    assert {alert: names for alert, names in unknown.items() if names} == {}
