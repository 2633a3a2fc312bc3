"""export, value, specialize."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from zoo_cli.commands.common import JsonOpt, TokenArg, settings_of, zoo_command


def register(app: typer.Typer) -> None:
    app.command("export")(export)
    app.command("value")(value)
    app.command("specialize")(specialize)


@zoo_command
def export(
    ctx: typer.Context,
    token: TokenArg,
    out: Annotated[Path, typer.Option("-o", "--out", help="Output directory (with --car: a .car file or a directory).", show_default=False)],
    car: Annotated[bool, typer.Option("--car", help="Export the encrypted container as a CAR file instead.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an adapter already in the directory.")] = False,
    compress: Annotated[str, typer.Option("--compress", help="none (float32 adapter_model.safetensors, loads with plain peft) or int4 (adapter_int4.safetensors, per-group 4-bit, 5-7x smaller; the README shows how to dequantize it).")] = "none",
    json: JsonOpt = False,
) -> None:
    """Owners only: write a standard PEFT adapter folder (or the encrypted objects as CAR).

    The folder loads with AutoPeftModelForCausalLM.from_pretrained(DIR). Lessees hold the
    key of the generation they leased but cannot export (exit 4).

    Example: zoo export 1 -o ./my-adapter
    Example: zoo export 1 -o ./my-adapter-int4 --compress int4
    """
    from zoo_cli import output
    from zoo_cli.workflows.export import export as run

    s = settings_of(ctx, json=json)
    data = run(s, token, out, car=car, overwrite=force, compress=compress)

    def human(d):
        kind = {"car": "encrypted CAR", "peft-float32": "PEFT adapter"}.get(d["format"], "int4 adapter")
        head = (f"wrote {kind} of token {d['token_id']} (generation {d['generation']}) to {d['path']}"
                f" ({d['bytes']:,} bytes)")
        return "\n".join([head] + [f"  {f}" for f in d["files"]])

    output.render(s, data, human)


@zoo_command
def value(ctx: typer.Context, token: TokenArg, json: JsonOpt = False) -> None:
    """Valuation estimate with its inputs (formula: docs/valuation.md)."""
    from zoo_cli import output
    from zoo_cli.workflows.value import value as run

    s = settings_of(ctx, json=json)
    data = run(s, token)

    def human(d):
        i = d["inputs"]
        return output.kv([
            ("token", d["token_id"]), ("estimate", f"{d['value_eth']} ETH"),
            ("intrinsic", f"{d['intrinsic_eth']} ETH"),
            ("market median", f"{d['market_median_eth']} ETH ({len(i['recent_sales'])} recent sale(s))"),
            ("stage", f"{i['stage']} ({i['training_ops']} ops) x{d['factors_bps']['stage'] / 10000:g}"),
            ("performance", f"{i['performance'] / 100:.2f}% x{d['factors_bps']['performance'] / 10000:g}"),
            ("specializations", f"{', '.join(x['name'] for x in i['specializations']) or '-'} x{d['factors_bps']['specializations'] / 10000:g}"),
            ("verified ops", f"{i['verified_ops']} of {i['own_training_ops']} x{d['factors_bps']['verification'] / 10000:g}"),
            ("lineage", f"{len(i['parents'])} parent(s), {i['children']} child(ren) x{d['factors_bps']['lineage'] / 10000:g}"),
            ("formula", d["formula"]),
        ])

    output.render(s, data, human)


@zoo_command
def specialize(
    ctx: typer.Context,
    token: TokenArg,
    specialization: Annotated[str, typer.Argument(help="DeFi_Yield_Optimizer, DeFi_Arbitrage_Bot, NFT_Valuation_Expert, NFT_Trend_Predictor, Game_Strategy_Master, Game_Economy_Optimizer, Social_Influencer or DAO_Governance_Analyst.", show_default=False)],
    verifier: Annotated[str | None, typer.Option("--verifier", help="Verifier account (default: `verifier` in config.toml).", show_default=False)] = None,
    verifier_url: Annotated[str | None, typer.Option("--verifier-url", help="A verifier service (`zoo verifier serve`) that evaluates and signs the proof; overrides `verifier` (also verifier_url / ZOO_VERIFIER_URL).", show_default=False)] = None,
    zk: Annotated[bool, typer.Option("--zk", help="Earn it from the token's last zero-knowledge proof of evaluation (`zoo prove`) instead; no verifier needed.")] = False,
    json: JsonOpt = False,
) -> None:
    """Earn a ZIP-6 specialization with a verifier-signed proof (evaluated on the verifier's set),
    or with --zk from the token's zk proof of evaluation on the specialization's domain.

    Examples: zoo specialize 1 DeFi_Yield_Optimizer
              zoo prove 1 --tasks defi && zoo specialize 1 DeFi_Yield_Optimizer --zk
    """
    from zoo_cli import output
    from zoo_cli.errors import BadInput
    from zoo_cli.workflows.specialize import specialize as run
    from zoo_cli.workflows.specialize import specialize_zk

    s = settings_of(ctx, json=json)
    if zk and (verifier or verifier_url):
        raise BadInput("--zk needs no verifier; pass either --zk or --verifier/--verifier-url", hint="zoo specialize TOKEN SPEC --zk")
    with output.progress(s) as p:
        if zk:
            data = specialize_zk(s, token, specialization, progress=p)
        else:
            data = run(s, token, specialization, verifier_name=verifier, verifier_url=verifier_url, progress=p)

    def human(d):
        head = (f"token {d['token_id']} earned {d['specialization']} with score {d['score'] / 100:.2f}% "
                f"on {d['eval_records']} {d['domain']} records")
        if d["source"] == "zk":
            return f"{head} (zk proof of generation {d['generation']}), tx {d['tx_hash']}"
        return f"{head} (verifier {d['verifier']}), tx {d['tx_hash']}"

    output.render(s, data, human)
