"""Layering rules checked on the source (issue 18): only the command layer talks to the terminal.

Below ``commands/`` (workflows, chain, storage, engine, services) nothing imports
``zoo_cli.output``, calls ``print`` or touches ``sys.stdout``/``sys.stderr``: notes go through
``zoo_cli.notices`` and the command layer renders them (honouring --quiet and --json).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "zoo_cli"
# The terminal layer itself, and the one place a long-running service writes its JSON log
# lines (to a file, or to stderr when no --log-file is given: that is the service's output);
# and the warm daemon, which hands the caller's streams to the command it runs (and tells the
# caller, on its stderr, when the daemon went away mid-command).
ALLOWED = {"main.py", "output.py", "services/logs.py", "daemon/client.py", "daemon/server.py"}


def _below_commands() -> list[Path]:
    return sorted(p for p in PKG.rglob("*.py")
                  if p.relative_to(PKG).parts[0] != "commands" and str(p.relative_to(PKG)) not in ALLOWED)


def _terminal_uses(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "zoo_cli.output" or (node.module == "zoo_cli" and any(a.name == "output" for a in node.names)):
                found.append((node.lineno, "imports zoo_cli.output"))
        elif isinstance(node, ast.Import):
            if any(a.name == "zoo_cli.output" for a in node.names):
                found.append((node.lineno, "imports zoo_cli.output"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
            found.append((node.lineno, "print()"))
        elif (isinstance(node, ast.Attribute) and node.attr in ("stdout", "stderr")
              and isinstance(node.value, ast.Name) and node.value.id == "sys"):
            found.append((node.lineno, f"sys.{node.attr}"))
    return found


@pytest.mark.parametrize("path", _below_commands(), ids=lambda p: str(p.relative_to(PKG)))
def test_nothing_below_commands_writes_to_the_terminal(path):
    uses = _terminal_uses(ast.parse(path.read_text(), str(path)))
    assert not uses, f"{path.relative_to(PKG)}: {uses} — report through zoo_cli.notices (or a progress callback)"


def test_the_checker_sees_each_kind_of_terminal_use():
    src = "import sys\nfrom zoo_cli import output\nprint('x')\nsys.stderr.write('y')\n"
    assert [k for _, k in _terminal_uses(ast.parse(src))] == ["imports zoo_cli.output", "print()", "sys.stderr"]


def test_notices_reach_the_sink_of_the_running_command_only():
    from zoo_cli import notices

    got: list[tuple[str, str]] = []
    notices.note("dropped: no command is running")
    with notices.sink(lambda kind, text: got.append((kind, text))):
        notices.note("starting over")
        notices.waiting("waiting for transaction 0xabc… 2s")
        notices.waited()
    notices.note("dropped again")
    assert got == [("note", "starting over"), ("wait", "waiting for transaction 0xabc… 2s"), ("waited", "")]


def test_the_command_layer_renders_notes_unless_quiet(capsys, tmp_path):
    from zoo_cli import notices
    from zoo_cli.config import load_settings
    from zoo_cli.output import notice_sink

    base = load_settings(home=tmp_path)
    for settings, shown in ((base, True), (base.with_(json=True), True), (base.with_(quiet=True), False)):
        with notices.sink(notice_sink(settings)):
            notices.note("waiting for another zoo process…")
            notices.waiting("transient: never on a pipe")
            notices.waited()
        err = capsys.readouterr().err
        assert ("waiting for another zoo process…\n" == err) is shown and "transient" not in err
