"""schemathesis hooks of `make fuzz` (devtools/fuzz.py loads this module).

A generated `Idempotency-Key` that is valid is made unique per call: two different requests that
happened to draw the same key would rightly answer 422 IDEMPOTENCY_KEY_REUSED, which says nothing
about either request. An invalid key is left as generated (the negative case it is part of).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import schemathesis

HEADER = "Idempotency-Key"
_VALID = re.compile(r"^[!-~]([ -~]*[!-~])?$")
_SUFFIX_LENGTH = 33  # "-" and 32 hex digits


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    key = (case.headers or {}).get(HEADER)
    if isinstance(key, str) and _VALID.match(key) and len(key) <= 255:
        case.headers[HEADER] = f"{key[: 255 - _SUFFIX_LENGTH]}-{uuid.uuid4().hex}"
