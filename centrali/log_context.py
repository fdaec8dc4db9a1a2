"""structlog processors of the service's log lines (settings.LOGGING): what ties a line to its trace."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from centrali import tracing


def add_trace_ids(logger: Any, method_name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """trace_id and span_id of the current span, while tracing is on (centrali.tracing)."""
    if tracing.enabled():
        for key, value in tracing.current_trace_ids().items():
            event_dict.setdefault(key, value)
    return event_dict
