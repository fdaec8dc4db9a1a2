from django.apps import AppConfig


class UsageConfig(AppConfig):
    name = "usage"
    verbose_name = "Usage"

    def ready(self):
        from centrali.exports import ExportSection, register_export_section
        from usage.selectors import daily_usage_for_export

        register_export_section(
            ExportSection(
                name="usage",
                queryset=daily_usage_for_export,
                serialize=lambda row: {
                    "day": row.day.isoformat(),
                    "metric": row.metric,
                    "value": f"{row.value.normalize():f}",
                    "last_event_at": row.last_event_at.isoformat(),
                },
            )
        )
