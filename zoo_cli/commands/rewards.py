"""`zoo claim`: claim training rewards."""

from __future__ import annotations

from typing import Annotated

import typer

from zoo_cli.commands.common import JsonOpt, settings_of, zoo_command


def register(app: typer.Typer) -> None:
    app.command("claim")(claim)


@zoo_command
def claim(
    ctx: typer.Context,
    tokens: Annotated[list[int] | None, typer.Argument(help="Tokens to claim for (default: every token of the account with rewards).", show_default=False)] = None,
    json: JsonOpt = False,
) -> None:
    """Claim the training rewards of your models (owner only).

    Example: zoo claim 1
    """
    from zoo_cli import output
    from zoo_cli.workflows.rewards import claim as run

    s = settings_of(ctx, json=json)
    data = run(s, list(tokens or []))
    if not data["tokens"]:
        output.note(s, "nothing to claim")
    output.render(s, data, lambda d: f"claimed {d['claimed_eth']} ETH" + (
        f" for token(s) {', '.join(map(str, d['tokens']))}" if d["tokens"] else ""))
