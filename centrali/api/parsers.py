from __future__ import annotations

import json
from collections.abc import Mapping
from typing import IO, Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class StrictJSONParser(JSONParser):
    """DRF's JSON parser, refusing as 400 what it would otherwise turn into a 500 later:
    nesting too deep for the decoder, and lone UTF-16 surrogates (valid JSON escapes that
    are not characters, so the row could never be rendered or exported again)."""

    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON nested too deeply.") from None
        _refuse_lone_surrogates(data)
        return data


def loads_strict(raw: str | bytes) -> Any:
    """json.loads with the same refusals as the parser, for views that read the raw body."""
    try:
        data = json.loads(raw)
    except RecursionError:
        raise ParseError("JSON nested too deeply.") from None
    except ValueError:
        raise ParseError("The body is not JSON.") from None
    _refuse_lone_surrogates(data)
    return data


def _refuse_lone_surrogates(data: object) -> None:
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ParseError("JSON contains a lone surrogate escape (\\ud800-\\udfff), which is not text.") from None
    except RecursionError:
        raise ParseError("JSON nested too deeply.") from None
