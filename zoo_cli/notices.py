"""Notes from the layers below ``commands/`` to the person at the terminal.

Workflows, chain, storage and engine code never write to the terminal themselves: they call
:func:`note` (a line worth reading: "starting over", "waiting for another zoo process…") or
:func:`waiting` / :func:`waited` (a transient status line, e.g. a transaction being mined).
The command layer installs a sink for the duration of a command (``commands/common.py``
``zoo_command``) that renders them: notes on stderr unless ``--quiet``; transient lines only
on a terminal and never under ``--quiet`` or ``--json`` (``output.notice_sink``). Without a
sink — library use, job workers, services — notices are dropped.

Progress bars of long work stay with the ``progress=`` callbacks the workflows take.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

Sink = Callable[[str, str], None]  # (kind, text): kind is "note", "wait" or "waited"

_local = threading.local()


def _emit(kind: str, text: str) -> None:
    fn = getattr(_local, "sink", None)
    if fn is not None:
        fn(kind, text)


def note(text: str) -> None:
    """A line for the person at the terminal (stderr; silenced by --quiet)."""
    _emit("note", text)


def waiting(text: str) -> None:
    """A transient status line, replaced by the next one (terminal only)."""
    _emit("wait", text)


def waited() -> None:
    """The transient status line is no longer true: clear it."""
    _emit("waited", "")


@contextlib.contextmanager
def sink(fn: Sink | None) -> Iterator[None]:
    """Deliver this thread's notices to ``fn`` inside the block."""
    before = getattr(_local, "sink", None)
    _local.sink = fn
    try:
        yield
    finally:
        _local.sink = before
