"""Shared option aliases and the wrapper every command runs through.

Commands are thin: parse -> call one workflow -> render. ``zoo_command`` turns
``ZooError`` into one stderr line plus a hint (and an ``{"error": …}`` document under
``--json``) with the documented exit code; tracebacks only with ``--verbose``.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Annotated, Any, NoReturn

import typer

from zoo_cli.config import Settings
from zoo_cli.errors import EXIT_FAILED, EXIT_INTERRUPTED, ZooError

JSON_HELP = "Print exactly one JSON document on stdout."
JsonOpt = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
HostOpt = Annotated[str, typer.Option("--host", help="Address to bind (127.0.0.1: this machine only; 0.0.0.0: every interface).")]
DeviceOpt = Annotated[str, typer.Option("--device", help="auto (CUDA GPU, else Apple MPS, else CPU), cpu, cuda[:N] or mps. GPUs run bf16/fp16 autocast.")]
TokenArg = Annotated[int, typer.Argument(help="Token id of the model NFT.", min=0, show_default=False)]


def settings_of(ctx: typer.Context, *, json: bool = False, account: str | None = None) -> Settings:
    """The resolved global settings, with per-command ``--json``/``--account`` applied."""
    root = ctx.find_root()
    settings: Settings = root.obj
    changes: dict[str, Any] = {}
    if json and not settings.json:
        changes["json"] = True
    if account:
        changes["account"] = account
    return settings.with_(**changes) if changes else settings


def _report(settings: Settings | None, err: ZooError) -> None:
    from zoo_cli import output

    if settings is not None and settings.json:
        output.emit_json(err.to_json())
    output.error_line(err.message, err.hint)


def zoo_command(fn: Callable) -> Callable:
    """Decorator: run a command body with the project's error contract."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        ctx = kwargs.get("ctx") or next((a for a in args if isinstance(a, typer.Context)), None)
        settings = None
        if ctx is not None and ctx.find_root().obj is not None:
            settings = ctx.find_root().obj
            if kwargs.get("json"):
                settings = settings.with_(json=True)
        try:
            from zoo_cli import notices
            from zoo_cli.output import notice_sink

            with notices.sink(notice_sink(settings)):
                return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except ZooError as err:
            if settings is not None and settings.verbose:
                import traceback

                traceback.print_exc(file=sys.stderr)
            _report(settings, err)
            raise typer.Exit(err.code) from None
        except KeyboardInterrupt:
            from zoo_cli.errors import Interrupted

            _report(settings, Interrupted("interrupted", hint="rerun the same command to resume"))
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except OSError as err:
            import errno

            from zoo_cli.errors import OperationFailed

            if settings is not None and settings.verbose:
                import traceback

                traceback.print_exc(file=sys.stderr)
            if err.errno == errno.ENOSPC:
                zerr = OperationFailed("disk full", hint="free some space and rerun the same command")
            else:
                zerr = OperationFailed(f"{err.strerror or err}: {err.filename or ''}".strip(": "))
            _report(settings, zerr)
            raise typer.Exit(zerr.code) from None
        except Exception as err:  # an unexpected bug: still one line unless --verbose
            if (settings is not None and settings.verbose) or os.environ.get("ZOO_DEBUG"):
                raise
            from zoo_cli.errors import OperationFailed

            zerr = OperationFailed(
                f"internal error: {type(err).__name__}: {err}",
                hint="rerun with --verbose for the traceback and report it",
            )
            zerr.type_name = "InternalError"
            _report(settings, zerr)
            raise typer.Exit(EXIT_FAILED) from None

    return wrapper


def fail_with_result(settings, data, err: ZooError, human=None) -> NoReturn:
    """End a command whose result is also a failure (a report that found problems: `data
    check`, `history --verify`, `zk verify`): the report as usual (stdout; the one JSON
    document under --json), then the error line and hint on stderr, exit ``err.code``."""
    from zoo_cli import output

    output.render(settings, data, human)
    output.error_line(err.message, err.hint)
    raise typer.Exit(err.code)


def new_app(help_text: str) -> typer.Typer:
    """A sub-app with the project's defaults (no rich markup: start-up speed)."""
    return typer.Typer(
        help=help_text,
        no_args_is_help=True,
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
