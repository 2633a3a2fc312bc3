"""`zoo completions bash|zsh|fish`: print a shell completion script."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer


class Shell(str, Enum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


def completion_script(shell: str) -> str:
    """The completion script Typer generates for the ``zoo`` program."""
    from typer.completion import get_completion_script

    return get_completion_script(prog_name="zoo", complete_var="_ZOO_COMPLETE", shell=shell)


def completions(shell: Annotated[Shell, typer.Argument(help="bash, zsh or fish.")]) -> None:
    """Print the completion script for SHELL (e.g. `zoo completions bash > ~/.local/share/bash-completion/completions/zoo`)."""
    typer.echo(completion_script(shell.value), nl=False)


def register(app: typer.Typer) -> None:
    app.command("completions")(completions)
