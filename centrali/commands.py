"""The base of this service's management commands: one behaviour an operator (or cron, or CI) can rely on.

- Each run acts in a context of its own: what it changes is audited as the system, named
  `command:<name>`, under a request id of its own that its log lines carry too.
- Exit status: 0 when the work is done (or, with --dry-run, when there is nothing to do); 1 on an
  error (a CommandError: a malformed argument, an unknown workspace or plan, work that failed);
  2 (WORK_FOUND_EXIT_STATUS) when --dry-run found drift or work to do, or a check-only command
  found a problem, so that cron and CI alert on it.
- A malformed argument is a one-line CommandError, from the command line as from call_command
  (argparse would print its usage and exit 2, which would read as "work found").
- --json prints one JSON summary on stdout (and nothing else there); the lines for people go away.
- A progress bar (tqdm) goes to stderr when stderr is a terminal, unless --no-progress.

A subclass implements `run(*args, **options)`, returning an Outcome, and names workspaces by slug.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, ClassVar, TextIO, TypeVar

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from tqdm import tqdm

from centrali import context
from centrali.context import ActorType

WORK_FOUND_EXIT_STATUS = 2

T = TypeVar("T")


@dataclass(frozen=True)
class Outcome:
    """What a run did or found: its last line for people and its --json summary."""

    message: str
    summary: Mapping[str, Any] = field(default_factory=dict)
    work_found: bool = False  # drift, or work to do: with --dry-run (or a check-only command) exit status 2
    failure: str | None = None  # part of the work failed: a CommandError once the summary is out


class OperatorCommand(BaseCommand):
    """A command an operator (or cron) runs; see the module docstring for what every one shares.
    A subclass extends add_arguments (calling super) and implements run()."""

    takes_dry_run: ClassVar[bool] = False
    # The command only looks (e.g. verifies a hash chain): a problem it finds exits 2, as a dry run's drift.
    checks_only: ClassVar[bool] = False
    dry_run_help: ClassVar[str] = "Report what would change; change nothing."

    json_output = False
    dry_run = False
    show_progress = False
    _stdout_stream: TextIO = sys.stdout
    _stderr_stream: TextIO = sys.stderr

    # --- the frame every command shares

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.called_from_command_line = False  # argparse errors become a CommandError (see run_from_argv)
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        if self.takes_dry_run:
            parser.add_argument(
                "--dry-run",
                action="store_true",
                help=f"{self.dry_run_help} Exits with status {WORK_FOUND_EXIT_STATUS} when there is something to do.",
            )
        parser.add_argument("--json", action="store_true", help="Print one JSON summary on stdout, nothing else.")
        parser.add_argument(
            "--no-progress", action="store_true", help="No progress bar (it is off anyway when stderr is no terminal)."
        )

    def run_from_argv(self, argv: list[str]) -> None:
        try:
            super().run_from_argv(argv)
        except CommandError as error:  # raised while parsing the arguments, before execute's own handler
            self.stderr.write(f"{type(error).__name__}: {error}")
            sys.exit(error.returncode)

    def execute(self, *args: Any, **options: Any) -> str | None:
        self._stdout_stream = options.get("stdout") or sys.stdout
        self._stderr_stream = options.get("stderr") or sys.stderr
        with context.fresh_context(actor_type=ActorType.SYSTEM, actor_id=f"command:{self.command_name}"):
            return super().execute(*args, **options)

    def handle(self, *args: Any, **options: Any) -> None:
        self.json_output = bool(options.get("json"))
        self.dry_run = bool(options.get("dry_run"))
        self.show_progress = not options.get("no_progress") and self._stderr_stream.isatty()
        outcome = self.run(*args, **options)
        found = outcome.work_found and (self.dry_run or self.checks_only)
        exit_status = 1 if outcome.failure else (WORK_FOUND_EXIT_STATUS if found else 0)
        if self.json_output:
            report = {"command": self.command_name, "dry_run": self.dry_run, "exit_status": exit_status}
            self.stdout.write(json.dumps({**report, **outcome.summary}, default=str))
        else:
            style = self.style.SUCCESS if exit_status == 0 else self.style.WARNING
            self.stdout.write(style(outcome.message))
        if outcome.failure:
            raise CommandError(outcome.failure)
        if found:
            raise SystemExit(WORK_FOUND_EXIT_STATUS)

    def run(self, *args: Any, **options: Any) -> Outcome:
        raise NotImplementedError("An OperatorCommand implements run().")

    @property
    def command_name(self) -> str:
        return type(self).__module__.rsplit(".", 1)[-1]

    # --- output

    def line(self, text: str) -> None:
        """A line for people on stdout (none with --json), written around the progress bar."""
        if not self.json_output:
            tqdm.write(text, file=self._stdout_stream)

    def problem(self, text: str) -> None:
        """A line about something wrong, on stderr (with --json too)."""
        tqdm.write(self.style.ERROR(text), file=self._stderr_stream)

    def progress(self, items: Iterable[T] | None = None, *, total: int | None = None, desc: str) -> tqdm[T]:
        """A progress bar on stderr over `items` (or updated by hand up to `total`), shown only to a terminal."""
        return tqdm(
            items, total=total, desc=desc, unit="workspace", file=self._stderr_stream, disable=not self.show_progress
        )


# --- arguments: argparse types (a ValueError/ArgumentTypeError becomes a one-line CommandError)


def iso_datetime(value: str) -> datetime:
    """An ISO 8601 date-time; naive means UTC."""
    moment = parse_datetime(value)
    if moment is None:
        raise argparse.ArgumentTypeError(f"expected an ISO 8601 date-time, e.g. 2026-05-01T00:00:00Z; got {value!r}")
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment, UTC)


def iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date, YYYY-MM-DD; got {value!r}") from None


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1; got {value!r}")
    return number


# --- names: operators name workspaces by slug and plans by code


def named(requested: Iterable[str], found: Mapping[str, T], *, what: str) -> list[T]:
    """The objects `requested` by name, in that order; a CommandError naming every name `found` lacks."""
    names = list(dict.fromkeys(requested))
    unknown = [name for name in names if name not in found]
    if unknown:
        raise CommandError(f"Unknown {what}{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}.")
    return [found[name] for name in names]


def named_one(name: str, found: T | None, *, what: str) -> T:
    """`found`, or the CommandError saying that no `what` is called `name`."""
    if found is None:
        raise CommandError(f"Unknown {what}: {name}.")
    return found
