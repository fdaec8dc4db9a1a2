from __future__ import annotations

import unicodedata

from rest_framework import serializers


def single_line_text(value: str) -> None:
    """Refuse control characters (newlines included) in a one-line name: they end up in email
    subjects, CSV cells and log lines, where they break headers or forge lines."""
    if any(unicodedata.category(char) == "Cc" for char in value):
        raise serializers.ValidationError("Must be a single line of text without control characters.")
