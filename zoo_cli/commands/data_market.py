"""`zoo data sell / buy / get`: training-data sales (registered onto the `data` sub-app)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from zoo_cli.commands.common import JsonOpt, TokenArg, settings_of, zoo_command
from zoo_cli.commands.data import data_app


def register(app: typer.Typer) -> None:
    data_app.command("sell")(sell)
    data_app.command("buy")(buy)
    data_app.command("get")(get)


@zoo_command
def sell(
    ctx: typer.Context,
    token: TokenArg,
    price: Annotated[str, typer.Option("--price", help="Price of the training data (0 withdraws the offer).", show_default=False)],
    data: Annotated[Path | None, typer.Option("--data", help="The training JSONL to sell (encrypted before storing).", show_default=False)] = None,
    json: JsonOpt = False,
) -> None:
    """Owner: offer the model's training data, encrypted; buyers get the key via `zoo market fulfill`.

    Example: zoo data sell 1 --price 0.05eth --data defi.jsonl
    """
    from zoo_cli import output
    from zoo_cli.units import parse_amount
    from zoo_cli.workflows.data_market import sell as run

    s = settings_of(ctx, json=json)
    out = run(s, token, parse_amount(price), data)
    output.render(s, out, lambda d: output.kv([
        ("token", d["token_id"]), ("price", f"{d['price_eth']} ETH"), ("records", d["records"]),
        ("encrypted data", d["cid"]), ("key commitment", d["key_commitment"]), ("tx", d["tx_hash"]),
    ]))


@zoo_command
def buy(ctx: typer.Context, token: TokenArg, json: JsonOpt = False) -> None:
    """Buy a model's training data (escrowed; ZIP-6 sellTrainingData). Then `zoo data get`."""
    from zoo_cli import output
    from zoo_cli.workflows.data_market import buy as run

    s = settings_of(ctx, json=json)
    output.render(s, run(s, token), lambda d: output.kv([
        ("order", d["order_id"]), ("token", d["token_id"]), ("paid into escrow", f"{d['price_eth']} ETH"),
        ("status", "pending: waiting for the seller's key delivery"), ("tx", d["tx_hash"]),
    ]))


@zoo_command
def get(
    ctx: typer.Context,
    token: TokenArg,
    out: Annotated[Path, typer.Option("-o", "--output", help="Where to write the decrypted JSONL.", show_default=False)],
    json: JsonOpt = False,
) -> None:
    """Buyer: check the delivered data key, confirm, decrypt the training data to FILE."""
    from zoo_cli import output
    from zoo_cli.workflows.data_market import get as run

    s = settings_of(ctx, json=json)
    output.render(s, run(s, token, out), lambda d: f"wrote {d['records']} records ({d['bytes']} bytes) to {d['path']}")
