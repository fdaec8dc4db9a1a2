from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.template.loader import render_to_string


def render_subject(template_name: str, context: Mapping[str, Any]) -> str:
    """An email subject rendered on one line: a newline in it (e.g. from a workspace or issue name)
    would make Django refuse the message with BadHeaderError."""
    return " ".join(render_to_string(template_name, context).split())
