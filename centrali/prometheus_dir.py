"""PROMETHEUS_MULTIPROC_DIR: where each process of a web or worker tree writes its metric samples.

Kept free of imports beyond the standard library: gunicorn's master runs this before any app code.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def clear_multiprocess_dir() -> Path | None:
    """Empty PROMETHEUS_MULTIPROC_DIR (created if missing) as a process tree starts: its counters
    must not add up an earlier run's dead processes. None when the variable is not set."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return None
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for entry in path.iterdir():
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    return path


def ensure_multiprocess_dir() -> None:
    """Create PROMETHEUS_MULTIPROC_DIR if it is set and missing: a metric without labels opens its
    file there as soon as it is defined."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
