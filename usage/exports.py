"""The "usage" section of the workspace export archive: the daily rollups."""

from __future__ import annotations

from centrali.exports import ExportSection
from centrali.formats import iso_utc
from usage.models import DailyUsage
from usage.selectors import daily_usage_for_export


def serialize_daily_usage(row: DailyUsage) -> dict[str, str | None]:
    return {
        "day": row.day.isoformat(),
        "metric": row.metric,
        "value": f"{row.value.normalize():f}",
        "last_event_at": iso_utc(row.last_event_at),
    }


EXPORT_SECTIONS = (ExportSection(name="usage", queryset=daily_usage_for_export, serialize=serialize_daily_usage),)
