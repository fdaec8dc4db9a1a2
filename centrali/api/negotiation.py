"""Content negotiation as HTTP defines it (RFC 9110 §12.5.1), for every endpoint.

DRF's default ignores `q` values and offers a bare "Could not satisfy the request Accept header."
Here each renderer a view lists is weighed by the most specific media range of the Accept header
that matches it; the best weight above zero wins, ties going to the view's order. A request
without an Accept header accepts anything. A 406 names the types the endpoint can answer (the
Error object itself is always JSON: `centrali.api.errors.ErrorResponse`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request


@dataclass(frozen=True)
class MediaRange:
    """One element of an Accept header, e.g. `text/plain;version=0.0.4;q=0.5`."""

    type: str
    subtype: str
    params: dict[str, str] = field(default_factory=dict)
    quality: float = 1.0

    def specificity(self, media_type: MediaRange) -> int:
        """How precisely the range names `media_type`: */* < type/* < type/subtype < with its parameters."""
        if self.type == "*":
            return 0
        if self.subtype == "*":
            return 1
        return 3 if self.params.keys() & media_type.params.keys() else 2

    def matches(self, media_type: MediaRange) -> bool:
        """Whether this range covers `media_type`; a parameter the range names must agree when the type has it."""
        if self.type not in ("*", media_type.type):
            return False
        if self.subtype not in ("*", media_type.subtype):
            return False
        return all(media_type.params.get(key, value) == value for key, value in self.params.items())

    def __str__(self) -> str:
        params = "".join(f"; {key}={value}" for key, value in self.params.items())
        return f"{self.type}/{self.subtype}{params}"


def parse_media_range(text: str) -> MediaRange | None:
    """One media range (or a renderer's media type); None when it is not `type/subtype[;params]`."""
    main, *raw_params = (part.strip() for part in text.split(";"))
    kind, slash, subtype = main.lower().partition("/")
    if not slash or not kind or not subtype:
        return None
    params: dict[str, str] = {}
    quality = 1.0
    for raw in raw_params:
        key, equals, value = raw.partition("=")
        key, value = key.strip().lower(), value.strip().strip('"')
        if not equals or not key:
            continue
        if key == "q":
            try:
                quality = min(max(float(value), 0.0), 1.0)
            except ValueError:
                quality = 0.0
        else:
            params[key] = value
    return MediaRange(kind, subtype, params, quality)


def parse_accept(header: str) -> list[MediaRange]:
    """The media ranges of an Accept header, malformed ones left out; an empty header accepts anything."""
    ranges = [parsed for part in header.split(",") if part.strip() if (parsed := parse_media_range(part))]
    return ranges or [MediaRange("*", "*")]


def quality_of(media_type: MediaRange, ranges: Sequence[MediaRange]) -> float:
    """The weight the client gives `media_type`: that of the most specific range matching it (the
    highest of equally specific ones), else 0."""
    matching = [media_range for media_range in ranges if media_range.matches(media_type)]
    if not matching:
        return 0.0
    return max(matching, key=lambda media_range: (media_range.specificity(media_type), media_range.quality)).quality


class ContentNegotiation(DefaultContentNegotiation):
    """DRF's DEFAULT_CONTENT_NEGOTIATION_CLASS: request parsers as DRF chooses them, renderers by `q`."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderers = list(renderers)
        if format_suffix:
            renderers = list(self.filter_renderers(renderers, format_suffix))
        ranges = parse_accept(request.META.get("HTTP_ACCEPT", ""))
        best: tuple[float, BaseRenderer, MediaRange] | None = None
        for renderer in renderers:
            media_type = parse_media_range(renderer.media_type)
            if media_type is None:
                continue
            quality = quality_of(media_type, ranges)
            if quality > 0 and (best is None or quality > best[0]):
                best = (quality, renderer, media_type)
        if best is None:
            offered = ", ".join(dict.fromkeys(renderer.media_type for renderer in renderers))
            raise NotAcceptable(
                f"This endpoint answers {offered}; the Accept header lists none of them.",
                available_renderers=renderers,
            )
        _, renderer, media_type = best
        return renderer, _accepted_media_type(media_type, ranges)


def _accepted_media_type(media_type: MediaRange, ranges: Sequence[MediaRange]) -> str:
    """The renderer's type with the parameters the client asked for it (e.g. JSON's `indent`), as DRF passes them."""
    exact = [
        r for r in ranges if (r.type, r.subtype) == (media_type.type, media_type.subtype) and r.matches(media_type)
    ]
    params: dict[str, Any] = {**media_type.params}
    if exact:
        params.update(max(exact, key=lambda media_range: len(media_range.params)).params)
    return str(MediaRange(media_type.type, media_type.subtype, params))
