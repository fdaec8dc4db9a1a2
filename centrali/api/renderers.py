"""The media types of endpoints whose answer is not JSON, so content negotiation knows them.

These views build their own response (metrics text, a CSV stream, a zip file): the renderer
only declares what the endpoint produces. Errors are JSON whatever the renderer
(`centrali.api.errors.ErrorResponse`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework.renderers import BaseRenderer


class DeclaredMediaTypeRenderer(BaseRenderer):
    """For views answering an HttpResponse of this media type; it renders text or bytes as they are."""

    charset: str | None = None

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Mapping[str, Any] | None = None
    ) -> bytes:
        if isinstance(data, bytes):
            return data
        return str(data).encode("utf-8") if data is not None else b""


class PrometheusTextRenderer(DeclaredMediaTypeRenderer):
    """Prometheus' text exposition format (any version: the scraper's `text/plain;version=…` matches)."""

    media_type = "text/plain"
    format = "txt"
    charset = "utf-8"


class CSVRenderer(DeclaredMediaTypeRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"


class ZipRenderer(DeclaredMediaTypeRenderer):
    media_type = "application/zip"
    format = "zip"
