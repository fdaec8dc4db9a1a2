"""The "usage" section of the workspace export archive: the daily rollups."""

from centrali.exports import ExportSection
from usage.selectors import daily_usage_for_export


def serialize_daily_usage(row):
    return {
        "day": row.day.isoformat(),
        "metric": row.metric,
        "value": f"{row.value.normalize():f}",
        "last_event_at": row.last_event_at.isoformat(),
    }


EXPORT_SECTIONS = (ExportSection(name="usage", queryset=daily_usage_for_export, serialize=serialize_daily_usage),)
