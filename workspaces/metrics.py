"""The workspaces app's Prometheus figures, computed from the database at scrape time."""

from prometheus_client.core import GaugeMetricFamily

from workspaces.models import WorkspaceStatus
from workspaces.selectors import workspace_status_counts


class WorkspacesByStatusCollector:
    def collect(self):
        gauge = GaugeMetricFamily("centrali_workspaces", "Workspaces by status", labels=["status"])
        counts = workspace_status_counts()
        for status in WorkspaceStatus.values:
            gauge.add_metric([status], counts.get(status, 0))
        yield gauge

    def describe(self):
        return []  # keeps registration from querying the database at import time
