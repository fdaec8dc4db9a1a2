"""The JSON renderer, and the media types of endpoints whose answer is not JSON.

`JSONRenderer` is DRF's, encoding with orjson. The others are for views that build their own
response (metrics text, a CSV stream, a zip file): the renderer only declares what the endpoint
produces, so content negotiation knows it. Errors are JSON whatever the renderer
(`centrali.api.errors.ErrorResponse`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from rest_framework import renderers
from rest_framework.renderers import BaseRenderer
from rest_framework.utils.encoders import JSONEncoder

_LINE_SEPARATOR, _PARAGRAPH_SEPARATOR = "\u2028".encode(), "\u2029".encode()


class JSONRenderer(renderers.JSONRenderer):
    """The bytes DRF's JSONRenderer writes (compact, UTF-8, U+2028 and U+2029 escaped), encoded by
    orjson: the standard library's encoder took a quarter of an audit page's time (bench/RESULTS.md).

    Dates and times, Decimals, lazy strings and whatever else JSON has no type for go to DRF's own
    encoder, as they do in DRF. What orjson refuses (an integer beyond 64 bits), and an indented
    answer (`Accept: application/json; indent=4`), DRF renders itself. Two differences remain: a
    float NaN or infinity is `null`, where DRF's strict JSON fails the response, and a float in exponent
    form has no leading zero in its exponent (`1e-7`, not `1e-07`)."""

    _default = staticmethod(JSONEncoder().default)
    _options = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Mapping[str, Any] | None = None
    ) -> bytes:
        if data is None:
            return b""
        if self.get_indent(accepted_media_type or "", renderer_context or {}) is None:
            try:
                body = orjson.dumps(data, default=self._default, option=self._options)
            except orjson.JSONEncodeError:
                pass
            else:
                if _LINE_SEPARATOR in body or _PARAGRAPH_SEPARATOR in body:
                    body = body.replace(_LINE_SEPARATOR, b"\\u2028").replace(_PARAGRAPH_SEPARATOR, b"\\u2029")
                return body
        rendered: bytes = super().render(data, accepted_media_type, renderer_context)
        return rendered


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
