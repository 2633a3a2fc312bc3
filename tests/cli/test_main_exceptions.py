"""main.run() maps Ctrl-C to exit 130 without touching Click internals that Typer 0.29's
vendored Click lacks (`typer._click.exceptions.Abort`): the old `except click_exc.Abort`
clause raised AttributeError for every exception that reached it."""

from __future__ import annotations

import pytest


def test_ctrl_c_is_exit_130_not_an_attribute_error(monkeypatch, capsys):
    from zoo_cli import main

    def interrupted(**_):
        raise KeyboardInterrupt

    monkeypatch.setattr(main, "_command", lambda: interrupted)
    monkeypatch.setattr("sys.argv", ["zoo", "list"])
    with pytest.raises(SystemExit) as exc:
        main.run()
    assert exc.value.code == 130
    assert "interrupted" in capsys.readouterr().err


def test_click_exception_classes_resolve():
    import typer

    from zoo_cli.main import _click_exceptions

    usage, aborts = _click_exceptions()
    assert usage and typer.Abort in aborts
