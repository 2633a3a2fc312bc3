"""Using models: ask, suggest."""

from __future__ import annotations

from typing import Annotated

import typer

from zoo_cli.commands.common import DeviceOpt, JsonOpt, settings_of, zoo_command


def register(app: typer.Typer) -> None:
    app.command("ask")(ask)
    app.command("suggest")(suggest)


def _token_ids(items: list[str]) -> list[int]:
    from zoo_cli.errors import BadInput

    out = []
    for item in items:
        try:
            value = int(item)
        except ValueError:
            raise BadInput(f"invalid token id {item!r}", hint='zoo ask TOKEN... "PROMPT"') from None
        if value < 0:
            raise BadInput(f"invalid token id {item!r}")
        out.append(value)
    return out


@zoo_command
def ask(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument(metavar="TOKEN... PROMPT", help="One or more tokens you own or lease, then the prompt.", show_default=False)],
    device: DeviceOpt = "auto",
    json: JsonOpt = False,
) -> None:
    """Ask one model, or a performance-weighted ensemble of several, a question.

    Example: zoo ask 1 "pool=ETH/USDC apy=4.2 risk=low ->"
    """
    from zoo_cli import output
    from zoo_cli.errors import BadInput
    from zoo_cli.workflows.query import ask as run

    s = settings_of(ctx, json=json)
    if len(args) < 2:
        raise BadInput("give at least one token and a prompt", hint='zoo ask 1 "pool=ETH/USDC apy=4.2 risk=low ->"')
    with output.progress(s) as p:
        data = run(s, _token_ids(args[:-1]), args[-1], progress=p, device=device)

    def human(d):
        if len(d["votes"]) == 1:
            return d["answer"]
        lines = [d["answer"]]
        for v in d["votes"]:
            lines.append(f"  token {v['token_id']} (weight {v['weight']}): {v['answer']}")
        lines.append(f"  agreement {d['agreement'] * 100:.1f}%")
        return "\n".join(lines)

    output.render(s, data, human)


@zoo_command
def suggest(
    ctx: typer.Context,
    tokens: Annotated[list[int], typer.Argument(help="One or more tokens you own or lease.", min=0, show_default=False)],
    task: Annotated[str, typer.Option("--task", help="defi (yield strategy), gaming (NPC decideAction), nft (collection traits), social or governance.")],
    field: Annotated[list[str] | None, typer.Option("--field", help="Context as key=value (repeatable), e.g. --field apy=4.2 --field risk=low; JSON values allowed (pools=[...]).", show_default=False)] = None,
    device: DeviceOpt = "auto",
    json: JsonOpt = False,
) -> None:
    """Structured suggestion from your model(s): yield strategy, next NPC action, NFT traits.

    Examples: zoo suggest 1 --task defi --field pool=ETH/USDC --field apy=4.2 --field risk=low
              zoo suggest 2 --task gaming --field hp=30 --field enemy=boss
              zoo suggest 3 --task nft --field theme=ZooApes --field n=3
    """
    from zoo_cli import output
    from zoo_cli.workflows.query import parse_fields
    from zoo_cli.workflows.query import suggest as run

    s = settings_of(ctx, json=json)
    fields = parse_fields(field)
    with output.progress(s) as p:
        data = run(s, tokens, task, fields, progress=p, device=device)

    def human(d):
        if "allocations" in d:
            return output.table(["pool", "apy", "risk", "action", "amount"],
                                [[a["pool"], a["apy"], a["risk"], f"{a['action']} {a.get('token') or ''}".strip(), a["amount"]]
                                 for a in d["allocations"]])
        if "trait_sets" in d:
            return output.table(["rarity", "eyes", "background", "score"],
                                [[t["rarity"], t["eyes"], t["background"], t["score"]] for t in d["trait_sets"]])
        return output.kv([("task", d["task"]), ("prompt", d["prompt"]), ("suggestion", d["answer"]),
                          ("agreement", f"{d['agreement'] * 100:.1f}%")])

    output.render(s, data, human)
