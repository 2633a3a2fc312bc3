"""The one place that writes to the terminal.

stdout carries the result and nothing else (one JSON document under ``--json``);
progress, notes, warnings and errors go to stderr. Rich is imported lazily.
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from zoo_cli.config import Settings


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def _stdout_console():
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
    sys.stdout.flush()


def render(settings: Settings, data: Any, human: Callable[[Any], Any] | None = None) -> None:
    """Print a command's result: JSON under ``--json``, else ``human(data)`` (a renderable or str)."""
    if settings.json:
        emit_json(data)
        return
    if settings.quiet and human is None:
        return
    out = human(data) if human else data
    if out is None:
        return
    if isinstance(out, str):
        sys.stdout.write(out if out.endswith("\n") else out + "\n")
        sys.stdout.flush()
    else:
        _stdout_console().print(out)


def note(settings: Settings, message: str) -> None:
    """A line for the human on stderr (silenced by --quiet)."""
    if settings.quiet:
        return
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def warn(message: str) -> None:
    sys.stderr.write(f"warning: {message}\n")
    sys.stderr.flush()


def error_line(message: str, hint: str | None) -> None:
    sys.stderr.write(f"error: {message}\n")
    if hint:
        sys.stderr.write(f"hint: {hint}\n")
    sys.stderr.flush()


def table(columns: list[str], rows: list[list[Any]], title: str | None = None):
    from rich.table import Table

    t = Table(title=title, show_edge=False, header_style="bold")
    for col in columns:
        t.add_column(col)
    for row in rows:
        t.add_row(*["" if v is None else str(v) for v in row])
    return t


def kv(pairs: list[tuple[str, Any]]) -> str:
    width = max((len(k) for k, _ in pairs), default=0)
    return "\n".join(f"{k.ljust(width)}  {'' if v is None else v}" for k, v in pairs)


class Progress:
    """Progress reporting for long work: a rich bar on a TTY, nothing when piped.

    Workflows receive ``progress.update`` style callbacks and never print themselves.
    """

    def __init__(self, settings: Settings):
        self.enabled = sys.stderr.isatty() and not settings.quiet and not settings.json
        self._progress = None
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> "Progress":
        if self.enabled:
            from rich.progress import (
                BarColumn,
                Progress as RichProgress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = RichProgress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[info]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=_stderr_console(),
                transient=False,
            )
            self._progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)

    def step(self, name: str, done: float | None = None, total: float | None = None, **info) -> None:
        """Report progress of the step called ``name`` (created on first use)."""
        if self._progress is None:
            return
        text = " ".join(f"{k}={v}" for k, v in info.items())
        if name not in self._tasks:
            self._tasks[name] = self._progress.add_task(name, total=total, info=text)
        task = self._tasks[name]
        self._progress.update(task, completed=done if done is not None else None, total=total, info=text)

    def callback(self, name: str) -> Callable[..., None]:
        """A ``progress(done, total, info)`` callback for engine/storage/chain functions."""

        def cb(done: float, total: float | None = None, info: dict | None = None) -> None:
            self.step(name, done, total, **(info or {}))

        return cb


@contextmanager
def progress(settings: Settings) -> Iterator[Progress]:
    with Progress(settings) as p:
        yield p
