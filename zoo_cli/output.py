"""The one place that writes to the terminal.

stdout carries the result and nothing else (one JSON document under ``--json``);
progress, notes, warnings and errors go to stderr. Rich is imported lazily.

Everything shown here may hold strings read from the chain or IPFS (token names, listing
references, error text quoting them) that anyone can set through the contracts directly.
So every string is shown as plain text: Rich markup is never interpreted (cells are
``rich.text.Text``, never markup strings) and control characters are removed (:func:`clean`:
C0/C1 controls incl. ESC, BEL and the OSC 8 hyperlink introducer, DEL, and the Unicode
bidi overrides) -- on a terminal and when piped alike. JSON output needs no cleaning:
``json.dumps`` escapes every control character.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Self

from zoo_cli.config import Settings

# C0 controls except tab and newline, DEL, C1 controls, and the bidi embedding/override/isolate
# characters (they reorder what the reader sees: "Trojan Source")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_CONTROL_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean(value: Any, *, one_line: bool = False) -> str:
    """``value`` as display text with every control character removed (``one_line``: tabs
    and line breaks become spaces, as in a table cell or a key/value line)."""
    text = "" if value is None else str(value)
    if one_line:
        text = text.replace("\r\n", " ").replace("\n", " ").replace("\t", " ").replace("\r", " ")
    return (_CONTROL_LINE if one_line else _CONTROL).sub("", text)


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
        out = clean(out)
        sys.stdout.write(out if out.endswith("\n") else out + "\n")
        sys.stdout.flush()
    else:
        _stdout_console().print(out)


def note(settings: Settings, message: str) -> None:
    """A line for the human on stderr (silenced by --quiet)."""
    if settings.quiet:
        return
    sys.stderr.write(clean(message) + "\n")
    sys.stderr.flush()


def notice_sink(settings: Settings | None) -> Callable[[str, str], None]:
    """How the command layer renders notices from the layers below (zoo_cli/notices.py):
    notes on stderr unless --quiet; transient status lines only on a terminal, never under
    --quiet or --json."""
    quiet = bool(settings and settings.quiet)
    transient = sys.stderr.isatty() and not quiet and not (settings and settings.json)
    shown = [False]

    def render_notice(kind: str, text: str) -> None:
        if kind == "note":
            if not quiet:
                if shown[0]:
                    sys.stderr.write("\r\033[K")
                    shown[0] = False
                sys.stderr.write(clean(text) + "\n")
                sys.stderr.flush()
        elif kind == "wait" and transient:
            sys.stderr.write("\r\033[K" + clean(text, one_line=True))
            sys.stderr.flush()
            shown[0] = True
        elif kind == "waited" and shown[0]:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
            shown[0] = False

    return render_notice


def warn(message: str) -> None:
    sys.stderr.write(f"warning: {clean(message)}\n")
    sys.stderr.flush()


def error_line(message: str, hint: str | None) -> None:
    sys.stderr.write(f"error: {clean(message, one_line=True)}\n")
    if hint:
        sys.stderr.write(f"hint: {clean(hint, one_line=True)}\n")
    sys.stderr.flush()


def table(columns: list[str], rows: list[list[Any]], title: str | None = None):
    """A rich table whose title, headers and cells are plain text (never markup)."""
    from rich.table import Table
    from rich.text import Text

    t = Table(title=Text(clean(title, one_line=True)) if title else None, show_edge=False, header_style="bold")
    for col in columns:
        t.add_column(Text(clean(col, one_line=True)))
    for row in rows:
        t.add_row(*[Text(clean(v, one_line=True)) for v in row])
    return t


def kv(pairs: list[tuple[str, Any]]) -> str:
    """Aligned ``key  value`` lines; values are cleaned to one line each."""
    width = max((len(k) for k, _ in pairs), default=0)
    return "\n".join(f"{k.ljust(width)}  {clean(v, one_line=True)}" for k, v in pairs)


class Progress:
    """Progress reporting for long work: a rich bar on a TTY, nothing when piped.

    Workflows receive ``progress.update`` style callbacks and never print themselves.
    """

    def __init__(self, settings: Settings):
        self.enabled = sys.stderr.isatty() and not settings.quiet and not settings.json
        self._progress = None
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> Self:
        if self.enabled:
            from rich.progress import (
                BarColumn,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import (
                Progress as RichProgress,
            )

            self._progress = RichProgress(
                SpinnerColumn(),
                TextColumn("{task.description}", markup=False),
                BarColumn(),
                TextColumn("{task.fields[info]}", markup=False),
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
        text = clean(" ".join(f"{k}={v}" for k, v in info.items()), one_line=True)
        if name not in self._tasks:
            self._tasks[name] = self._progress.add_task(clean(name, one_line=True), total=total, info=text)
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
