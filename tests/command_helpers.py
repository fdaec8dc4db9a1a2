"""Running a management command in a test: its output and its exit status, as cron would see them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from io import StringIO
from typing import Any

from django.core.management import call_command


class Terminal(StringIO):
    """A stream that says it is a terminal, so that a command shows its progress bar there."""

    def isatty(self) -> bool:
        return True


@dataclass
class Run:
    out: str
    err: str
    status: int  # 0 done, 2 a dry run (or a check) found something; a CommandError (1) is raised, not returned

    @property
    def summary(self) -> dict[str, Any]:
        """The --json summary: the one line of stdout."""
        (line,) = self.out.splitlines()
        return json.loads(line)


def run_command(name: str, *args: str, terminal: bool = False) -> Run:
    out, err = StringIO(), (Terminal() if terminal else StringIO())
    try:
        call_command(name, *args, stdout=out, stderr=err)
    except SystemExit as exit:
        status = exit.code
        assert isinstance(status, int)
    else:
        status = 0
    return Run(out.getvalue(), err.getvalue(), status)
